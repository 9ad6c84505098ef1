"""Writing and verifying the audit trail. Nothing here updates or deletes an event."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from huoban.platform.identity.actors import Actor, actor_name, actor_user

from .context import get_context
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


@dataclass
class Entry:
    action: str
    object_type: str = ""
    object_id: Any = ""
    object_repr: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def _object_fields(obj: Any) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    object_type = getattr(obj, "object_type", None) or obj._meta.model_name
    return object_type, str(obj.pk), str(obj)[:300]


def audit_log(
    *,
    actor: Actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    ot, oid, orepr = _object_fields(obj)
    entry = Entry(
        action=action,
        object_type=object_type or ot,
        object_id=object_id or oid,
        object_repr=object_repr or orepr,
        changes=changes or {},
        data=data or {},
    )
    return audit_log_many(actor=actor, entries=[entry])[0]


def audit_log_many(*, actor: Actor, entries: Iterable[Entry]) -> list[AuditEvent]:
    """Append events to the chain in one locked step (used by bulk paths such as imports)."""
    ctx = get_context()
    ip = normal_ip(ctx.ip)
    user = actor_user(actor)
    name = actor_name(actor)
    now = timezone.now()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        seq, prev = head.last_seq, head.last_hash
        events = []
        for e in entries:
            seq += 1
            ev = AuditEvent(
                seq=seq,
                at=now,
                actor_id=user.pk if user else None,
                actor_name=name[:150],
                action=e.action,
                object_type=e.object_type,
                object_id=str(e.object_id)[:64],
                object_repr=str(e.object_repr)[:300],
                changes=jsonable(e.changes),
                data=jsonable(e.data),
                ip=ip,
                user_agent=ctx.user_agent[:300],
                request_id=ctx.request_id,
                prev_hash=prev,
            )
            ev.hash = ev.compute_hash()
            prev = ev.hash
            events.append(ev)
        if not events:
            return []
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=prev)
    return events


def plain(value: Any) -> Any:
    """A value as an audit diff stores it: a model as its pk, Decimal as text, dates in ISO 8601."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def normal_ip(value: str | None) -> str | None:
    """The address as the database gives it back (so the hash still matches after a read)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from a JSON column (dates, Decimals, UUIDs as text)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def audit_verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; report the first event whose hash or link does not match."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last = 0
    while True:
        events = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not events:
            break
        for ev in events:
            if ev.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"event #{expected_seq} is missing")
            if ev.prev_hash != prev:
                return VerifyResult(False, checked, ev.seq, "link to the previous event does not match")
            if ev.compute_hash() != ev.hash:
                return VerifyResult(False, checked, ev.seq, "content does not match its hash")
            prev = ev.hash
            expected_seq += 1
            checked += 1
            last = ev.seq
    head = AuditChainHead.objects.filter(id=1).first()
    if head and head.last_seq != last:
        return VerifyResult(
            False, checked, last + 1, f"chain head says #{head.last_seq}, last event is #{last}"
        )
    if head and last and head.last_hash != prev:
        return VerifyResult(False, checked, last, "chain head hash does not match the last event")
    return VerifyResult(True, checked)
