"""The left navigation: fixed modules, entries registered by apps.

A domain app registers its entries in ``apps.ready()`` (or in its ``ui.py``)::

    from huoban.platform.ui.nav import NavEntry, register_nav

    register_nav(NavEntry(key="customers", module="customers", label=_("Customers"),
                          url="/customers/", icon="building", object_type="customer"))

An entry is shown when its module is enabled (administrators switch modules off in
settings → modules, stored in ``ui.ModuleSetting``) and the user passes its permission check:
``object_type`` (+ ``action``, default "view") through ``has_perm``, and/or ``check(user)``.
A module with no visible entry is not shown, except Home.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass
class Module:
    key: str
    label: Any
    icon: str
    order: int
    url: str = ""  # where the module header links when it has a single entry
    can_disable: bool = True


# The fixed modules, in navigation order. Icons are Tabler icon names (ti ti-<icon>).
MODULES: dict[str, Module] = {
    m.key: m
    for m in [
        Module("home", _("Home"), "home", 0, "/", can_disable=False),
        Module("customers", _("Customers"), "building", 10),
        Module("leads", _("Leads"), "target-arrow", 20),
        Module("sales", _("Sales"), "chart-arrows-vertical", 30),
        Module("service", _("Service"), "headset", 40),
        Module("marketing", _("Marketing"), "speakerphone", 50),
        Module("finance", _("Finance"), "cash", 60),
        Module("reports", _("Reports"), "chart-pie", 70),
        Module("settings", _("Settings"), "settings", 90, can_disable=False),
    ]
}


@dataclass
class NavEntry:
    key: str  # unique, e.g. "customers" or "customers.pool"
    module: str  # one of MODULES
    label: str | Promise
    url: str | Callable[[], str]  # a path ("/customers/") or a callable returning one
    icon: str = ""
    order: int = 100
    object_type: str = ""  # permission: has_perm(user, object_type, action)
    action: str = "view"
    check: Callable[[Any], bool] | None = None  # extra permission check (user) -> bool
    admin_only: bool = False
    match: tuple[str, ...] = field(default_factory=tuple)  # extra path prefixes that mark it active

    def href(self) -> str:
        return self.url() if callable(self.url) else self.url

    def allowed(self, user: Any) -> bool:
        from huoban.platform.access.scoping import grants_for, has_perm

        if user is None or not user.is_authenticated:
            return False
        if self.admin_only and not grants_for(user).is_admin:
            return False
        if self.object_type and not has_perm(user, self.object_type, self.action):
            return False
        if self.check is not None and not self.check(user):
            return False
        return True


_ENTRIES: dict[str, NavEntry] = {}


def register_nav(entry: NavEntry) -> NavEntry:
    if entry.module not in MODULES:
        raise ValueError(f"unknown navigation module {entry.module!r}; one of {sorted(MODULES)}")
    _ENTRIES[entry.key] = entry
    return entry


def unregister_nav(key: str) -> None:
    _ENTRIES.pop(key, None)


def entries() -> list[NavEntry]:
    return sorted(_ENTRIES.values(), key=lambda e: (MODULES[e.module].order, e.order, e.key))


def disabled_modules() -> set[str]:
    """Keys of modules an administrator switched off (cached briefly per process)."""
    from django.core.cache import cache

    cached = cache.get("huoban:ui:disabled_modules")
    if cached is not None:
        return set(cached)
    from .models import ModuleSetting

    try:
        keys = list(ModuleSetting.objects.filter(enabled=False).values_list("key", flat=True))
    except Exception:  # table missing before migrate
        keys = []
    keys = [k for k in keys if k not in MODULES or MODULES[k].can_disable]
    cache.set("huoban:ui:disabled_modules", keys, 30)
    return set(keys)


def module_enabled(key: str) -> bool:
    return key not in disabled_modules()


def set_module_enabled(key: str, enabled: bool) -> None:
    """Used by the settings page; clears the cache so every page sees the change."""
    from django.core.cache import cache
    from django.utils import timezone

    from .models import ModuleSetting

    if key in MODULES and not MODULES[key].can_disable and not enabled:
        raise ValueError(f"module {key} cannot be disabled")
    ModuleSetting.objects.update_or_create(
        key=key, defaults={"enabled": enabled, "updated_at": timezone.now()}
    )
    cache.delete("huoban:ui:disabled_modules")


@dataclass
class NavGroup:
    module: Module
    entries: list[NavEntry]
    active: bool = False

    @property
    def single(self) -> bool:
        return len(self.entries) == 1


def nav_for(user: Any, path: str = "") -> list[NavGroup]:
    """The navigation the user sees: enabled modules, permitted entries, active marking."""
    off = disabled_modules()
    groups: dict[str, NavGroup] = {}
    for e in entries():
        if e.module in off or not e.allowed(user):
            continue
        groups.setdefault(e.module, NavGroup(MODULES[e.module], []))
        groups[e.module].entries.append(e)
    home = MODULES["home"]
    if "home" not in groups:
        groups["home"] = NavGroup(home, [NavEntry("home", "home", home.label, "/", icon="home", order=0)])
    result = sorted(groups.values(), key=lambda g: g.module.order)
    best: tuple[int, NavEntry] | None = None
    for g in result:
        for e in g.entries:
            for prefix in (e.href(), *e.match):
                hit = path == "/" if prefix == "/" else path.startswith(prefix)
                if hit and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), e)
    active_key = best[1].key if best is not None else ""
    for g in result:
        g.entries = [NavEntryView(x, x.key == active_key) for x in g.entries]  # type: ignore[misc]
        g.active = any(v.active for v in g.entries)  # type: ignore[attr-defined]
    return result


class NavEntryView:
    """A per-request view of a NavEntry with the ``active`` flag for templates."""

    def __init__(self, entry: NavEntry, active: bool):
        self.entry = entry
        self.active = active
        self.key = entry.key
        self.label = entry.label
        self.icon = entry.icon
        self.href = entry.href()
