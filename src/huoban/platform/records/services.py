"""The generic write path every domain service builds on.

Create, update (with optimistic concurrency), soft delete, restore, purge, transfer ownership,
tags, numbering and sharing — each in one transaction, audited, emitting a domain event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.access.scoping import service
from huoban.platform.audit.models import AuditAction, AuditEvent
from huoban.platform.audit.services import Entry, audit_log, audit_log_many, plain
from huoban.platform.errors import ConflictError, ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, actor_user

from .custom_fields import validate_custom_fields
from .models import BaseRecord, NumberingRule, NumberSequence, Tag, TaggedItem

R = TypeVar("R", bound=BaseRecord)


# --- snapshots and diffs ---------------------------------------------------------------------


def snapshot(obj: BaseRecord) -> dict[str, Any]:
    """Audit-able values of a record: concrete fields (FKs as ids), custom fields, tags."""
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name in obj.audit_exclude or f.name in (
            "id",
            "created_at",
            "created_by",
            "deleted_at",
            "deleted_by",
        ):
            continue
        if f.name == "custom_fields":
            for k, v in (obj.custom_fields or {}).items():
                data[f"custom_fields.{k}"] = v
            continue
        value = getattr(obj, f.attname)
        if f.name in obj.sensitive_fields and value:
            value = "•••"  # the audit trail never stores sensitive values in clear
        data[f.name] = plain(value)
    return data


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b != a:
            out[key] = [b, a]
    return out


def _full_clean(obj: BaseRecord) -> None:
    try:
        obj.full_clean(exclude=["owner", "owner_unit", "custom_fields"], validate_unique=True)
    except DjangoValidationError as exc:
        raise ValidationError({k: [str(m) for m in v] for k, v in exc.message_dict.items()})


# --- numbering -------------------------------------------------------------------------------


DEFAULT_RULES: dict[str, tuple[str, str, int]] = {}


def register_numbering(
    object_type: str, prefix: str, date_pattern: str = "%Y%m%d", serial_length: int = 4
) -> None:
    DEFAULT_RULES[object_type] = (prefix, date_pattern, serial_length)


def numbering_rule(object_type: str) -> NumberingRule:
    rule = NumberingRule.objects.filter(object_type=object_type).first()
    if rule is None:
        prefix, pattern, length = DEFAULT_RULES.get(object_type, (object_type[:4].upper(), "%Y%m%d", 4))
        rule, _created = NumberingRule.objects.get_or_create(
            object_type=object_type,
            defaults={"prefix": prefix, "date_pattern": pattern, "serial_length": length},
        )
    return rule


@service
def next_numbers(object_type: str, count: int = 1, when: Any = None) -> list[str]:
    """Reserve ``count`` consecutive numbers; gap-free per period and safe under concurrency.

    The sequence row is incremented with an F() expression inside the caller's transaction, so a
    rolled-back write gives its numbers back and concurrent writers queue on the row lock.
    """
    rule = numbering_rule(object_type)
    period = rule.period_key(when)
    with transaction.atomic():
        seq, _created = NumberSequence.objects.get_or_create(rule=rule, period=period)
        NumberSequence.objects.filter(pk=seq.pk).update(last=F("last") + count)
        last = NumberSequence.objects.values_list("last", flat=True).get(pk=seq.pk)
    return [rule.format(period, n) for n in range(last - count + 1, last + 1)]


def next_number(object_type: str, when: Any = None) -> str:
    return next_numbers(object_type, 1, when)[0]


# --- tags --------------------------------------------------------------------------------------


def _clean_tags(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        n = str(n).strip()
        if not n:
            continue
        if len(n) > 60:
            raise ValidationError({"tags": [_("A tag has at most 60 characters.")]})
        if n not in out:
            out.append(n)
    return out


def set_tags(obj: BaseRecord, names: Iterable[str]) -> list[str]:
    """Replace the tags of a record; returns the sorted tag names."""
    names = _clean_tags(names)
    ct = ContentType.objects.get_for_model(type(obj))
    tags = {t.name: t for t in Tag.objects.filter(name__in=names)}
    for n in names:
        if n not in tags:
            tags[n], _created = Tag.objects.get_or_create(name=n)
    TaggedItem.objects.filter(content_type=ct, object_id=obj.pk).exclude(tag__name__in=names).delete()
    existing = set(
        TaggedItem.objects.filter(content_type=ct, object_id=obj.pk).values_list("tag__name", flat=True)
    )
    TaggedItem.objects.bulk_create(
        [TaggedItem(tag=tags[n], content_type=ct, object_id=obj.pk) for n in names if n not in existing]
    )
    if hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache.pop("tagged_items", None)
    obj.__dict__.pop("_tag_names", None)  # BaseRecord.tag_names reads them again
    return sorted(names)


def current_tags(obj: BaseRecord) -> list[str]:
    ct = ContentType.objects.get_for_model(type(obj))
    return sorted(
        TaggedItem.objects.filter(content_type=ct, object_id=obj.pk).values_list("tag__name", flat=True)
    )


@service
def add_tags(*, actor: Actor, objs: Sequence[BaseRecord], names: Iterable[str]) -> int:
    names = _clean_tags(names)
    if not names or not objs:
        return 0
    with transaction.atomic():
        entries = []
        for obj in objs:
            before = current_tags(obj)
            after = set_tags(obj, [*before, *names])
            if after != before:
                bump_version(obj, actor)
                entries.append(
                    Entry(AuditAction.UPDATE, obj.object_type, obj.pk, str(obj), {"tags": [before, after]})
                )
        audit_log_many(actor=actor, entries=entries)
    return len(entries)


# --- create / update / delete ----------------------------------------------------------------


def bump_version(obj: BaseRecord, actor: Actor) -> None:
    """Version +1 and the who/when of the last change, for a write that touched related rows only."""
    user = actor_user(actor)
    now = timezone.now()
    type(obj)._default_manager.filter(pk=obj.pk).update(
        version=F("version") + 1, updated_at=now, updated_by=user
    )
    obj.version += 1
    obj.updated_at = now
    obj.updated_by = user


@service
def record_create(
    *,
    actor: Actor,
    obj: R,
    custom_fields: dict[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    audit: bool = True,
    event: bool = True,
    audit_data: dict[str, Any] | None = None,
) -> R:
    """Save a new (unsaved) record: owner defaults, validation, custom fields, audit, event."""
    user = actor_user(actor)
    if obj.owner_id is None and user is not None:
        obj.owner = user
    if obj.owner_unit_id is None and obj.owner_id is not None:
        obj.owner_unit_id = getattr(obj.owner, "primary_unit_id", None)
    obj.created_by = user
    obj.updated_by = user
    obj.created_at = obj.updated_at = timezone.now()
    errors: ValidationError | None = None
    try:
        obj.custom_fields = validate_custom_fields(obj.object_type, custom_fields, creating=True)
    except ValidationError as exc:
        errors = exc
    try:
        _full_clean(obj)
    except ValidationError as exc:
        errors = exc.merged(errors) if errors else exc
    if errors:
        raise errors
    with transaction.atomic():
        obj.save()
        tag_names = set_tags(obj, tags) if tags else []
        if audit:
            after = snapshot(obj)
            if tag_names:
                after["tags"] = tag_names
            audit_log(
                actor=actor,
                action=AuditAction.CREATE,
                obj=obj,
                changes={k: [None, v] for k, v in after.items() if v not in (None, "", [], {})},
                data=audit_data or {},
            )
        if event:
            emit(f"{obj.object_type}.created", actor=actor, id=obj.pk)
    return obj


# Audit actions that change a record's version (a 409 names the last of them).
VERSION_ACTIONS = (
    AuditAction.UPDATE,
    AuditAction.DELETE,
    AuditAction.RESTORE,
    AuditAction.TRANSFER,
    AuditAction.MERGE,
    AuditAction.UNMERGE,
    AuditAction.CLAIM,
    AuditAction.RELEASE,
    AuditAction.ASSIGN,
    AuditAction.MOVE,
    AuditAction.CONVERT,
)


def conflict_for(obj: BaseRecord, current_version: int) -> ConflictError:
    """A 409 naming who made the last change to ``obj`` and what it changed."""
    last = (
        AuditEvent.objects.filter(
            object_type=obj.object_type, object_id=str(obj.pk), action__in=VERSION_ACTIONS
        )
        .order_by("-seq")
        .first()
    )
    return ConflictError(
        _("%(who)s changed this record since you opened it. Reload to see their changes.")
        % {"who": last.actor_name if last else _("Someone")},
        current_version=current_version,
        changed_by=last.actor_name if last else "",
        changed_at=last.at if last else None,
        changes=last.changes if last else {},
    )


@service
def lock_for_write(obj: R, expected_version: int | None) -> R:
    """Re-read the row under a lock and refuse a stale version."""
    locked = type(obj)._default_manager.unrestricted().select_for_update().get(pk=obj.pk)
    if expected_version is not None and int(expected_version) != locked.version:
        raise conflict_for(locked, locked.version)
    return locked


@service
def record_update(
    *,
    actor: Actor,
    obj: R,
    data: dict[str, Any],
    custom_fields: dict[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    version: int | None = None,
    audit: bool = True,
    event: bool = True,
    allowed_fields: Iterable[str] | None = None,
) -> R:
    """Apply ``data`` (field -> value) to a record; stale ``version`` -> ConflictError (409)."""
    allowed = set(allowed_fields) if allowed_fields is not None else None
    with transaction.atomic():
        current = lock_for_write(obj, version)
        before = snapshot(current)
        before_tags = current_tags(current) if tags is not None else None
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            if allowed is not None and key not in allowed:
                errors[key] = [_("This field cannot be changed here.")]
                continue
            setattr(current, key, value)
        if errors:
            raise ValidationError(errors)
        verrors: ValidationError | None = None
        if custom_fields is not None:
            try:
                current.custom_fields = validate_custom_fields(
                    current.object_type, custom_fields, existing=current.custom_fields
                )
            except ValidationError as exc:
                verrors = exc
        try:
            _full_clean(current)
        except ValidationError as exc:
            verrors = exc.merged(verrors) if verrors else exc
        if verrors:
            raise verrors
        after = snapshot(current)
        tag_after = set_tags(current, tags) if tags is not None else None
        changes = changes_between(before, after)
        if tags is not None and before_tags != tag_after:
            changes["tags"] = [before_tags, tag_after]
        if not changes:
            obj.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
            return obj
        current.version = current.version + 1
        current.updated_at = timezone.now()
        current.updated_by = actor_user(actor)
        current.save()
        if audit:
            audit_log(actor=actor, action=AuditAction.UPDATE, obj=current, changes=changes)
        if event:
            emit(f"{current.object_type}.updated", actor=actor, id=current.pk, changes=list(changes))
    return current


@service
def record_delete(*, actor: Actor, obj: R, version: int | None = None) -> R:
    """Soft delete: the record leaves lists and the API and waits in the recycle bin."""
    with transaction.atomic():
        current = lock_for_write(obj, version)
        if current.deleted_at is not None:
            return current
        current.deleted_at = timezone.now()
        current.deleted_by = actor_user(actor)
        current.version += 1
        current.save(update_fields=["deleted_at", "deleted_by", "version"])
        audit_log(actor=actor, action=AuditAction.DELETE, obj=current)
        emit(f"{current.object_type}.deleted", actor=actor, id=current.pk)
    return current


@service
def record_delete_many(*, actor: Actor, objs: Sequence[BaseRecord]) -> int:
    """Soft-delete many records in one transaction (bulk delete); one audit event each."""
    objs = [o for o in objs if o.deleted_at is None]
    if not objs:
        return 0
    model = type(objs[0])
    now = timezone.now()
    user = actor_user(actor)
    with transaction.atomic():
        ids = list(
            model._default_manager.unrestricted()
            .select_for_update()
            .filter(pk__in=[o.pk for o in objs], deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        model._default_manager.unrestricted().filter(pk__in=ids).update(
            deleted_at=now, deleted_by=user, version=F("version") + 1
        )
        by_pk = {o.pk: o for o in objs}
        audit_log_many(
            actor=actor,
            entries=[
                Entry(AuditAction.DELETE, model.object_type, pk, str(by_pk[pk]), {}, {"bulk": True})
                for pk in ids
            ],
        )
        for pk in ids:
            emit(f"{model.object_type}.deleted", actor=actor, id=pk)
    return len(ids)


@service
def record_restore(*, actor: Actor, obj: R) -> R:
    with transaction.atomic():
        current = lock_for_write(obj, None)
        if current.deleted_at is None:
            return current
        current.deleted_at = None
        current.deleted_by = None
        current.version += 1
        current.save(update_fields=["deleted_at", "deleted_by", "version"])
        audit_log(actor=actor, action=AuditAction.RESTORE, obj=current)
        emit(f"{current.object_type}.restored", actor=actor, id=current.pk)
    return current


@service
def record_transfer(*, actor: Actor, objs: Sequence[BaseRecord], new_owner: Any, reason: str = "") -> int:
    """Transfer ownership (single or bulk): owner and owner unit change, each record audited and
    announced; one UPDATE per model."""
    if new_owner is None or not new_owner.is_active:
        raise ValidationError({"owner": [_("Choose an active user.")]})
    moving = list({(type(o), o.pk): o for o in objs if o.owner_id != new_owner.pk}.values())
    if not moving:
        return 0
    user = actor_user(actor)
    now = timezone.now()
    unit_id = new_owner.primary_unit_id
    entries = []
    with transaction.atomic():
        by_model: dict[type[BaseRecord], list[BaseRecord]] = {}
        for obj in moving:
            by_model.setdefault(type(obj), []).append(obj)
        for model, items in by_model.items():
            model._default_manager.unrestricted().filter(pk__in=[o.pk for o in items]).update(
                owner=new_owner,
                owner_unit_id=unit_id,
                version=F("version") + 1,
                updated_at=now,
                updated_by=user,
            )
        for obj in moving:
            previous, previous_unit = obj.owner_id, obj.owner_unit_id
            obj.owner, obj.owner_unit_id = new_owner, unit_id
            obj.version += 1
            obj.updated_at, obj.updated_by = now, user
            entries.append(
                Entry(
                    AuditAction.TRANSFER,
                    obj.object_type,
                    obj.pk,
                    str(obj),
                    {"owner": [previous, new_owner.pk], "owner_unit": [previous_unit, unit_id]},
                    {"reason": reason} if reason else {},
                )
            )
            emit(
                f"{obj.object_type}.transferred",
                actor=actor,
                id=obj.pk,
                owner=new_owner.pk,
                previous=previous,
            )
        audit_log_many(actor=actor, entries=entries)
    return len(entries)


@service
def purge_deleted(model: type[BaseRecord], older_than_days: int = 90, actor: Actor = None) -> int:
    """Hard-delete records soft-deleted more than ``older_than_days`` ago (periodic job)."""
    from huoban.platform.identity.actors import SystemActor

    actor = actor or SystemActor("purge")
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    qs = model._default_manager.unrestricted().filter(deleted_at__lt=cutoff)
    ids = list(qs.values_list("pk", flat=True)[:10000])
    if not ids:
        return 0
    with transaction.atomic():
        from huoban.platform.access.models import Share

        ct = ContentType.objects.get_for_model(model)
        TaggedItem.objects.filter(content_type=ct, object_id__in=ids).delete()
        Share.objects.filter(content_type=ct, object_id__in=ids).delete()
        audit_log_many(
            actor=actor,
            entries=[
                Entry(AuditAction.PURGE, model.object_type, pk, "", {}, {"older_than_days": older_than_days})
                for pk in ids
            ],
        )
        model._default_manager.unrestricted().filter(pk__in=ids).delete()
    return len(ids)


@service
def share_record(
    *, actor: Actor, obj: BaseRecord, user: Any = None, unit: Any = None, level: str = "read"
) -> Any:
    from huoban.platform.access.models import Share

    if user is None and unit is None:
        raise ValidationError({"user": [_("Share with a user or a unit.")]})
    ct = ContentType.objects.get_for_model(type(obj))
    with transaction.atomic():
        share, _created = Share.objects.update_or_create(
            content_type=ct,
            object_id=obj.pk,
            user=user,
            unit=unit,
            defaults={"level": level, "created_by": actor_user(actor)},
        )
        audit_log(
            actor=actor,
            action=AuditAction.SHARE,
            obj=obj,
            data={"user": getattr(user, "pk", None), "unit": getattr(unit, "pk", None), "level": level},
        )
    return share


@service
def unshare_record(*, actor: Actor, obj: BaseRecord, user: Any = None, unit: Any = None) -> int:
    from huoban.platform.access.models import Share

    if user is None and unit is None:
        raise ValidationError({"user": [_("Share with a user or a unit.")]})
    ct = ContentType.objects.get_for_model(type(obj))
    with transaction.atomic():
        n, _detail = Share.objects.filter(content_type=ct, object_id=obj.pk, user=user, unit=unit).delete()
        if n:
            audit_log(
                actor=actor,
                action=AuditAction.SHARE,
                obj=obj,
                data={"user": getattr(user, "pk", None), "unit": getattr(unit, "pk", None), "level": None},
            )
    return n
