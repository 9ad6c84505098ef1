"""Readable audit history: field diffs with labels and display values (used by the history tab
and by the "changes" timeline provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from huoban.platform.audit.models import AuditAction, AuditEvent

from . import formatting


@dataclass
class Diff:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    event: AuditEvent
    action_label: str
    actor: str
    diffs: list[Diff] = field(default_factory=list)
    note: str = ""


def _custom_labels(object_type: str) -> dict[str, Any]:
    from huoban.platform.records.models import CustomField

    return {cf.key: cf for cf in CustomField.objects.filter(object_type=object_type)}


def _resolve_people(
    events: list[AuditEvent], model: type[models.Model]
) -> tuple[dict[int, str], dict[int, str]]:
    """Names of users and units referenced by FK diffs in ``events`` (two queries at most)."""
    from huoban.platform.identity.models import OrgUnit, User

    user_ids: set[int] = set()
    unit_ids: set[int] = set()
    fk = _fk_targets(model)
    for ev in events:
        for key, pair in (ev.changes or {}).items():
            target = fk.get(key)
            if target is None or not isinstance(pair, list | tuple):
                continue
            for v in pair:
                if isinstance(v, int):
                    (user_ids if target is User else unit_ids if target is OrgUnit else set()).add(v)
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    units = {u.pk: u.name for u in OrgUnit.objects.filter(pk__in=unit_ids)} if unit_ids else {}
    return users, units


def _fk_targets(model: type[models.Model]) -> dict[str, Any]:
    return {f.name: f.related_model for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)}


def _display(model: type[models.Model], key: str, value: Any, cfs: dict[str, Any], people: Any) -> str:
    from huoban.platform.identity.models import OrgUnit, User

    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return ", ".join(map(str, value))  # tags, other phones …
    if key.startswith("custom_fields."):
        cf = cfs.get(key.split(".", 1)[1])
        if cf is not None:
            return custom_value_display(cf, value)
        return str(value)
    try:
        f = model._meta.get_field(key)
    except Exception:
        return str(value)
    if isinstance(f, models.Field) and getattr(f, "choices", None):
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.ForeignKey):
        users, units = people
        if f.related_model is User:
            return users.get(value, f"#{value}")
        if f.related_model is OrgUnit:
            return units.get(value, f"#{value}")
        return f"#{value}"
    if isinstance(f, models.BooleanField):
        return _("Yes") if value else _("No")
    if isinstance(f, models.DateTimeField):
        return formatting.fdatetime(value)
    if isinstance(f, models.DateField):
        return formatting.fdate(value)
    if isinstance(f, models.DecimalField):
        return formatting.fnumber(value)
    return str(value)


def custom_value_display(cf: Any, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    opts = dict(formatting.option_choices(cf.options))
    t = cf.type
    if t == "boolean":
        return _("Yes") if value in (True, "true", "True", 1) else _("No")
    if t == "single_select":
        return str(opts.get(str(value), value))
    if t == "multi_select":
        return ", ".join(str(opts.get(str(v), v)) for v in (value if isinstance(value, list) else [value]))
    if t == "date":
        return formatting.fdate(value)
    if t == "datetime":
        return formatting.fdatetime(value)
    if t == "decimal":
        return formatting.fnumber(value)
    if t == "integer":
        return formatting.fnumber(value, 0)
    if t == "user":
        from huoban.platform.identity.models import User

        u = User.objects.filter(pk=value).first() if str(value).isdigit() else None
        return str(u) if u else str(value)
    return str(value)


def field_label(model: type[models.Model], key: str, cfs: dict[str, Any]) -> str:
    if key == "tags":
        return _("Tags")
    if key.startswith("custom_fields."):
        cf = cfs.get(key.split(".", 1)[1])
        return cf.display_label() if cf is not None else key.split(".", 1)[1]
    try:
        f = model._meta.get_field(key)
        if isinstance(f, models.ForeignObjectRel):  # e.g. "addresses": the related model's name
            return str(capfirst(f.related_model._meta.verbose_name_plural))
        if not isinstance(f, models.Field):
            return key
        return str(capfirst(f.verbose_name))
    except Exception:
        return key


def history_entries(model: type[models.Model], events: list[AuditEvent]) -> list[HistoryEntry]:
    object_type = getattr(model, "object_type", "")
    cfs = _custom_labels(object_type) if object_type else {}
    people = _resolve_people(events, model)
    labels = dict(AuditAction.choices)
    names = actor_names(events)
    out = []
    for ev in events:
        entry = HistoryEntry(
            event=ev,
            action_label=str(labels.get(ev.action, ev.action)),
            actor=names.get(ev.actor_id, ev.actor_name) if ev.actor_id else ev.actor_name,
        )
        for key, pair in (ev.changes or {}).items():
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            entry.diffs.append(
                Diff(
                    field_label(model, key, cfs),
                    _display(model, key, pair[0], cfs, people),
                    _display(model, key, pair[1], cfs, people),
                )
            )
        reason = (ev.data or {}).get("reason") if isinstance(ev.data, dict) else None
        if reason:
            entry.note = str(reason)
        out.append(entry)
    return out


def actor_names(events: list[AuditEvent]) -> dict[int, str]:
    from huoban.platform.identity.models import User

    ids = {e.actor_id for e in events if e.actor_id}
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)} if ids else {}


def import_origin(model: type[models.Model], obj: Any) -> HistoryEntry | None:
    """“Created by the import of <file>”: imports audit one event per batch, naming the created
    ids as ranges, so a record they created has no event of its own. The batch is found by time
    (the record's creation falls inside the batch's transaction) and then by its id ranges."""
    import datetime as dt

    object_type = getattr(model, "object_type", "")
    created = getattr(obj, "created_at", None)
    if not object_type or created is None:
        return None
    window = dt.timedelta(minutes=10)
    events = AuditEvent.objects.filter(
        action=AuditAction.IMPORT, object_type=object_type, at__gte=created - window, at__lte=created + window
    ).order_by("seq")
    for ev in events:
        data = ev.data if isinstance(ev.data, dict) else {}
        if any(a <= obj.pk <= b for a, b in data.get("created") or []):
            entry = history_entries(model, [ev])[0]
            entry.note = _("Created by the import of “%(file)s” (rows %(first)s–%(last)s).") % {
                "file": ev.object_repr,
                "first": (data.get("rows") or ["?", "?"])[0],
                "last": (data.get("rows") or ["?", "?"])[-1],
            }
            return entry
    return None


def with_import_origin(
    model: type[models.Model], obj: Any, entries: list[HistoryEntry], *, oldest_shown: bool
) -> list[HistoryEntry]:
    """``entries`` plus “Created by the import of …” at the end when they reach back to the
    record's beginning (``oldest_shown``) and hold no creation event (an import created it)."""
    if oldest_shown and not any(e.event.action == AuditAction.CREATE for e in entries):
        origin = import_origin(model, obj)
        if origin is not None:
            entries.append(origin)
    return entries
