from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "huoban.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from huoban.platform.records.services import register_numbering

        from . import handlers, jobs  # noqa: F401  (job handlers register themselves)

        register_numbering("opportunity", "OPP", "%Y%m%d", 4)
        handlers.connect()
