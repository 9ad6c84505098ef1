from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_picklists(sender, using="default", **kwargs):  # post_migrate handler
    from django.db import connections

    from huoban.platform.records.models import Picklist

    if "records_picklist" not in connections[using].introspection.table_names():
        return
    from huoban.platform.records.picklists import load_picklists

    if Picklist.objects.using(using).filter(key="region").exists() and not kwargs.get("refresh"):
        return
    load_picklists(using=using)


class CustomersConfig(AppConfig):
    name = "huoban.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from huoban.platform.records.services import register_numbering

        from . import jobs  # noqa: F401  (registers job handlers)
        from .overview import _register_own

        register_numbering("customer", "CUST", "%Y%m%d", 4)
        _register_own()
        post_migrate.connect(_load_picklists, sender=self, dispatch_uid="customers_load_picklists")
