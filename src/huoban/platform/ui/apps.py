from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UiConfig(AppConfig):
    name = "huoban.platform.ui"
    label = "ui"
    verbose_name = _("User interface")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import builtin  # noqa: F401  (platform widgets, timeline "changes", settings nav)

        # Each domain app's ``ui.py`` registers its pages, navigation entries and widgets.
        autodiscover_modules("ui")
