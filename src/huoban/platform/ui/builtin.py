"""What the platform itself puts into the shell: Home and Settings navigation, the home widgets
"My notifications", "My open records" and "Key figures", and the "changes" timeline provider."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from .nav import NavEntry, register_nav
from .pages import TimelineItem, TimelineProvider, pages_for, register_timeline
from .widgets import KeyFigure, Widget, key_figures_for, register_key_figure, register_widget

register_nav(NavEntry(key="home", module="home", label=_("Home"), url="/", icon="home", order=0))
# The settings area (built on this shell) may replace this entry by registering the same key.
register_nav(
    NavEntry(
        key="settings",
        module="settings",
        label=_("Settings"),
        url="/settings/",
        icon="settings",
        admin_only=True,
    )
)


# --- widgets -------------------------------------------------------------------------------------


def _notifications_context(request: Any) -> dict[str, Any]:
    from huoban.platform.notifications.models import Notification

    items = list(
        Notification.objects.filter(recipient=request.user, read_at__isnull=True).order_by(
            "-created_at", "-id"
        )[:6]
    )
    return {"items": items}


def _open_records_context(request: Any) -> dict[str, Any]:
    """Records the user owns, per object type that has pages and the user may view."""
    from huoban.platform.access import registry
    from huoban.platform.access.scoping import has_perm, scoped

    rows = []
    for ot in registry.all_types():
        pages = pages_for(ot.key)
        if pages is None or not has_perm(request.user, ot.key, "view"):
            continue
        n = scoped(request.user, ot.model).filter(owner=request.user).order_by()[:10001].count()
        rows.append(
            {
                "label": pages.plural(),
                "icon": pages.icon,
                "count": n,
                "capped": n > 10000,
                "url": f"{pages.list_url()}?owner=me",
            }
        )
    return {"rows": rows}


def _key_figures_context(request: Any) -> dict[str, Any]:
    figures = []
    for f in key_figures_for(request.user):
        try:
            value = f.value(request)
        except Exception:  # a broken figure must not take the home page down
            import logging

            logging.getLogger("huoban.ui").exception("key figure %s failed", f.key)
            value = None
        figures.append({"figure": f, "value": value})
    return {"figures": figures}


register_widget(
    Widget(
        key="platform.key_figures",
        title=_("Key figures"),
        template="ui/widgets/key_figures.html",
        context=_key_figures_context,
        order=0,
        width=12,
        icon="chart-dots",
        check=lambda user: bool(key_figures_for(user)),
    )
)
register_widget(
    Widget(
        key="platform.notifications",
        title=_("My notifications"),
        template="ui/widgets/notifications.html",
        context=_notifications_context,
        order=20,
        width=6,
        icon="bell",
    )
)
register_widget(
    Widget(
        key="platform.open_records",
        title=_("My open records"),
        template="ui/widgets/open_records.html",
        context=_open_records_context,
        order=30,
        width=6,
        icon="folders",
    )
)


def _unread_figure(request: Any) -> int:
    from huoban.platform.notifications.services import unread_count

    return unread_count(request.user)


register_key_figure(
    KeyFigure(
        key="platform.unread",
        label=_("Unread notifications"),
        value=_unread_figure,
        order=90,
        url="/notifications/?unread=1",
    )
)


# --- timeline: changes from the audit trail ----------------------------------------------------

ACTION_ICONS = {
    "create": ("plus", "green"),
    "update": ("pencil", "azure"),
    "delete": ("trash", "red"),
    "restore": ("restore", "green"),
    "transfer": ("arrows-exchange", "purple"),
    "merge": ("arrows-join", "orange"),
    "share": ("share", "azure"),
    "move": ("arrow-right", "azure"),
    "convert": ("transform", "green"),
    "reveal": ("eye", "yellow"),
}


def changes_timeline(request: Any, obj: Any) -> list[TimelineItem]:
    from huoban.platform.audit.models import AuditEvent

    from .history import history_entries, with_import_origin

    events = list(
        AuditEvent.objects.filter(object_type=obj.object_type, object_id=str(obj.pk)).order_by("-seq")[:50]
    )
    entries = with_import_origin(
        type(obj), obj, history_entries(type(obj), events), oldest_shown=len(events) < 50
    )
    items = []
    for entry in entries:
        icon, color = ACTION_ICONS.get(entry.event.action, ("point", ""))
        items.append(
            TimelineItem(
                at=entry.event.at,
                title=entry.action_label,
                body=entry.note,
                icon=icon,
                color=color,
                actor=entry.actor,
                kind="changes",
                details=[(d.label, d.before, d.after) for d in entry.diffs[:8]],
            )
        )
    return items


register_timeline("*", TimelineProvider(key="changes", label=_("Changes"), items=changes_timeline, order=90))
