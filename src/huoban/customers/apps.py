from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "huoban.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from huoban.platform.records.services import register_numbering

        register_numbering("customer", "CUST", "%Y%m%d", 4)
