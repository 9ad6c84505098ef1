"""The 360° view of a customer: key figures, related lists and timeline, contributed by modules.

Modules that build on customers register providers in their ``apps.ready()``::

    from huoban.customers.overview import register_figure, register_related, register_timeline

    register_figure("open_opportunities_amount", provider=open_amount, permission=("opportunity", "view"))
    register_related("opportunities", label=_("Opportunities"), object_type="opportunity",
                     fetch=lambda customer, user: scoped(user, Opportunity).filter(customer=customer))
    register_timeline("orders", provider=order_events)

A figure nobody provides yet is reported with ``"available": false`` and ``"value": null`` —
"not yet", never a made-up number. A figure, list or timeline source whose permission the user
lacks is left out. Providers receive the user and must read through ``scoped(user, …)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import has_perm


@dataclass
class FigureSpec:
    key: str
    label: Any
    kind: str  # "money" | "count" | "datetime" | "days"
    order: int
    provider: Callable[[Any, Any], Any] | None = None
    permission: tuple[str, str] | None = None
    module: str = ""


@dataclass
class RelatedSpec:
    key: str
    label: Any
    object_type: str
    fetch: Callable[[Any, Any], Any]
    order: int = 100
    url: str = ""  # e.g. "/contacts/{id}/"
    describe: Callable[[Any], str] | None = None


@dataclass
class TimelineSpec:
    key: str
    provider: Callable[[Any, Any, int], list[dict[str, Any]]]
    permission: tuple[str, str] | None = None


FIGURES: dict[str, FigureSpec] = {}
RELATED: dict[str, RelatedSpec] = {}
TIMELINE: dict[str, TimelineSpec] = {}


def declare_figure(key: str, label: Any, kind: str, order: int) -> None:
    """Declare a figure the customer page shows (value "not yet" until a module provides it)."""
    FIGURES.setdefault(key, FigureSpec(key=key, label=label, kind=kind, order=order))


def register_figure(
    key: str,
    *,
    provider: Callable[[Any, Any], Any],
    permission: tuple[str, str] | None = None,
    label: Any = None,
    kind: str | None = None,
    order: int | None = None,
    module: str = "",
) -> None:
    spec = FIGURES.get(key)
    if spec is None:
        spec = FIGURES[key] = FigureSpec(
            key=key, label=label or key, kind=kind or "count", order=order or 100
        )
    spec.provider = provider
    spec.permission = permission
    spec.module = module
    if label is not None:
        spec.label = label
    if kind is not None:
        spec.kind = kind
    if order is not None:
        spec.order = order


def register_related(
    key: str,
    *,
    label: Any,
    object_type: str,
    fetch: Callable[[Any, Any], Any],
    order: int = 100,
    url: str = "",
    describe: Callable[[Any], str] | None = None,
) -> None:
    RELATED[key] = RelatedSpec(key, label, object_type, fetch, order, url, describe)


def register_timeline(
    key: str,
    *,
    provider: Callable[[Any, Any, int], list[dict[str, Any]]],
    permission: tuple[str, str] | None = None,
) -> None:
    TIMELINE[key] = TimelineSpec(key, provider, permission)


# The figures of the issue; sales, finance and service provide them when they land.
declare_figure("lifetime_revenue", _("Lifetime revenue"), "money", 10)
declare_figure("open_opportunities_amount", _("Open opportunities"), "money", 20)
declare_figure("receivables_due", _("Receivables due"), "money", 30)
declare_figure("open_tickets", _("Open tickets"), "count", 40)
declare_figure("last_contact", _("Last contact"), "datetime", 50)
declare_figure("days_since_last_order", _("Days since last order"), "days", 60)


def _render(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "money":
        if isinstance(value, dict):
            return {"amount": str(value.get("amount")), "currency": value.get("currency", "CNY")}
        if isinstance(value, tuple):
            return {"amount": str(value[0]), "currency": value[1]}
        return {"amount": str(Decimal(value)), "currency": "CNY"}
    if kind == "datetime" and isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def key_figures(customer: Any, user: Any) -> list[dict[str, Any]]:
    out = []
    for spec in sorted(FIGURES.values(), key=lambda s: (s.order, s.key)):
        if spec.permission and not has_perm(user, *spec.permission):
            continue
        item: dict[str, Any] = {"key": spec.key, "label": str(spec.label), "kind": spec.kind}
        if spec.provider is None:
            item.update(value=None, available=False)
        else:
            item.update(value=_render(spec.kind, spec.provider(customer, user)), available=True)
        out.append(item)
    return out


def related_lists(customer: Any, user: Any, limit: int = 5) -> list[dict[str, Any]]:
    from huoban.platform.api.pagination import capped_count

    out = []
    for spec in sorted(RELATED.values(), key=lambda s: (s.order, s.key)):
        if not has_perm(user, spec.object_type, "view"):
            continue
        qs = spec.fetch(customer, user)
        count, capped = capped_count(qs, 1000)
        items = []
        for obj in list(qs[:limit]):
            items.append(
                {
                    "id": obj.pk,
                    "label": spec.describe(obj) if spec.describe else str(obj),
                    "url": spec.url.format(id=obj.pk) if spec.url else "",
                }
            )
        out.append(
            {
                "key": spec.key,
                "label": str(spec.label),
                "object_type": spec.object_type,
                "count": count,
                "count_capped": capped,
                "items": items,
            }
        )
    return out


def timeline(customer: Any, user: Any, limit: int = 50) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for spec in TIMELINE.values():
        if spec.permission and not has_perm(user, *spec.permission):
            continue
        entries.extend(spec.provider(customer, user, limit))
    far = timezone.make_aware(dt.datetime(1970, 1, 1))
    entries.sort(key=lambda e: e.get("at") or far, reverse=True)
    for e in entries:
        if isinstance(e.get("at"), dt.datetime):
            e["at"] = e["at"].isoformat()
    return entries[:limit]


def overview(customer: Any, user: Any) -> dict[str, Any]:
    return {
        "customer": customer.pk,
        "figures": key_figures(customer, user),
        "related": related_lists(customer, user),
    }


# --- what customers itself contributes ---------------------------------------------------------


def _register_own() -> None:
    from huoban.platform.audit.models import AuditEvent

    from .selectors import contacts_of, follow_ups_of

    register_figure("last_contact", provider=lambda c, u: c.last_contacted_at, module="customers")
    register_related(
        "contacts",
        label=_("Contacts"),
        object_type="contact",
        fetch=lambda c, u: contacts_of(u, c).order_by("-id"),
        order=10,
        url="/contacts/{id}/",
        describe=lambda o: f"{o.name} · {o.title}" if o.title else o.name,
    )
    register_related(
        "follow_ups",
        label=_("Follow-ups"),
        object_type="follow_up",
        fetch=lambda c, u: follow_ups_of(u, c).order_by("-occurred_at", "-id"),
        order=20,
        url="/follow-ups/{id}/",
    )

    def follow_up_events(c: Any, u: Any, limit: int) -> list[dict[str, Any]]:
        rows = follow_ups_of(u, c).order_by("-occurred_at")[:limit]
        return [
            {
                "at": f.occurred_at,
                "kind": "follow_up",
                "type": f.type,
                "title": f.get_type_display(),
                "body": f.content,
                "outcome": f.outcome,
                "contact": f.contact.name if f.contact else None,
                "actor": str(f.created_by) if f.created_by else None,
                "object_type": "follow_up",
                "id": f.pk,
            }
            for f in rows
        ]

    def change_events(c: Any, u: Any, limit: int) -> list[dict[str, Any]]:
        rows = AuditEvent.objects.filter(object_type="customer", object_id=str(c.pk)).order_by("-seq")[:limit]
        return [
            {
                "at": e.at,
                "kind": "change",
                "action": e.action,
                "title": e.get_action_display(),
                "changes": e.changes,
                "actor": e.actor_name,
                "object_type": "customer",
                "id": c.pk,
            }
            for e in rows
        ]

    register_timeline("follow_ups", provider=follow_up_events, permission=("follow_up", "view"))
    register_timeline("changes", provider=change_events)
