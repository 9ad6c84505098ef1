from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "huoban.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from huoban.platform.records.services import register_numbering

        from . import handlers, jobs  # noqa: F401  (job handlers register themselves)

        register_numbering("lead", "LEAD", "%Y%m%d", 4)
        handlers.connect()

        from django.db.models.signals import post_migrate

        from .picklists import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="leads.sources")
