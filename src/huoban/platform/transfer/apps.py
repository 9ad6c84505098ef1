from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _can_import(user):  # type: ignore[no-untyped-def]
    from huoban.platform.access.scoping import has_perm

    from . import registry

    return any(has_perm(user, t, "import") for t in registry.importable_types())


def _can_export(user):  # type: ignore[no-untyped-def]
    from huoban.platform.access.scoping import has_perm

    from . import registry

    return any(has_perm(user, t, "export") for t in registry.exportable_types())


class TransferConfig(AppConfig):
    name = "huoban.platform.transfer"
    label = "transfer"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from . import (
            jobs,  # noqa: F401 — registers the job handlers
            registry,
        )

        # Domain apps declare importable types in `<app>/importers.py`; the platform finds them
        # through the app registry and never imports a domain app by name.
        registry.ready()
        try:
            from huoban.platform.ui.nav import NavEntry, register_nav
        except ImportError:  # pragma: no cover
            return
        register_nav(
            NavEntry(
                key="transfer.imports",
                module="settings",
                label=_("Import data"),
                url="/imports/",
                icon="file-import",
                order=80,
                check=_can_import,
            )
        )
        register_nav(
            NavEntry(
                key="transfer.exports",
                module="settings",
                label=_("Exports"),
                url="/exports/",
                icon="file-export",
                order=81,
                check=_can_export,
            )
        )
