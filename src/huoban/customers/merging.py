"""Merging duplicate customers (and contacts), and undoing a merge within 30 days.

One survivor absorbs one or more records:

- field values: the survivor's, unless ``choices`` names another record for a field
  (``{"phone": 42}``); empty survivor fields are filled from the absorbed records in order;
  secondary phones and e-mails, tags and custom fields are combined;
- every row of every installed app that points at an absorbed record through a foreign key is
  re-pointed to the survivor — found through Django's model meta, so opportunities, orders,
  tickets … of later modules follow without changes here. Rows that would break a unique
  constraint (a contact linked to both customers) are removed and remembered;
- shares of the absorbed records move to the survivor;
- absorbed records become tombstones: ``merged_into`` set and soft-deleted; the API answers a
  read of a tombstone with ``301`` to the survivor;
- the whole merge is one transaction, audited (``merge`` on the survivor and on each absorbed
  record) and stored as a ``Merge`` row holding what is needed to undo it.

``merge_undo`` restores all of that (fields changed since the merge are kept and reported).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.access.models import Share
from huoban.platform.access.scoping import service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log_many, plain
from huoban.platform.errors import ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, actor_name, actor_user
from huoban.platform.records.encryption import decrypt, encrypt
from huoban.platform.records.models import BaseRecord
from huoban.platform.records.services import changes_between, current_tags, set_tags, snapshot

from .models import Contact, ContactCustomer, Customer, CustomerAddress, CustomerIdentifier, FollowUp, Merge
from .services import DERIVED

UNDO_DAYS = 30


@dataclass
class MergeSpec:
    object_type: str
    model: type[BaseRecord]
    fields: tuple[str, ...]  # fields a merge may take from any record
    list_fields: tuple[tuple[str, str], ...] = ()  # (secondary list, its primary field)
    skip_relations: set[str] = field(default_factory=set)  # "app_label.Model.field"
    derived: tuple[str, ...] = ()  # computed from the fields (name keys, blind indexes); undone too
    before_save: Callable[[Any, list[Any], dict[str, Any]], None] | None = None
    after_merge: Callable[[Any, list[Any], Merge, Actor], None] | None = None
    after_undo: Callable[[Any, list[Any], Merge], None] | None = None


# --- plain values (JSON) and back ------------------------------------------------------------


def _raw_values(obj: BaseRecord, spec: MergeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lists = tuple(name for name, _primary in spec.list_fields)
    for name in (*spec.fields, *lists, "custom_fields", *spec.derived):
        f = obj._meta.get_field(name)
        value = getattr(obj, f.attname)
        if name in obj.sensitive_fields and value:
            value = encrypt(str(value))
        out[f.attname] = plain(value)
    return out


def _from_plain(model: type[models.Model], attname: str, value: Any, sensitive: tuple[str, ...]) -> Any:
    f = next(x for x in model._meta.concrete_fields if x.attname == attname)
    if f.name in sensitive and isinstance(value, str) and value:
        return decrypt(value)
    if value is None or isinstance(f, models.JSONField):
        return value
    if isinstance(f, models.ForeignKey):
        return value
    return f.to_python(value)


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


# --- relations -------------------------------------------------------------------------------


def relations_to(model: type[models.Model], skip: set[str]) -> list[tuple[type[models.Model], models.Field]]:
    """Every concrete foreign key (and one-to-one) in every installed model pointing at ``model``."""
    out = []
    for m in apps.get_models(include_auto_created=True):
        for f in m._meta.concrete_fields:
            if not f.is_relation or f.remote_field is None:
                continue
            if f.remote_field.model is not model:
                continue
            label = f"{m._meta.label}.{f.name}"
            if label in skip or (m is model and f.name == "merged_into"):
                continue
            out.append((m, f))
    return out


def _unique_sets(m: type[models.Model], fname: str) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = []
    for ut in m._meta.unique_together:
        if fname in ut:
            sets.append(tuple(ut))
    for c in m._meta.constraints:
        if isinstance(c, models.UniqueConstraint) and c.fields and fname in c.fields and c.condition is None:
            sets.append(tuple(c.fields))
    f = m._meta.get_field(fname)
    if getattr(f, "unique", False) or isinstance(f, models.OneToOneField):
        sets.append((fname,))
    return sets


def _repoint(
    m: type[models.Model], f: models.Field, absorbed_ids: list[int], survivor_id: int
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    manager = m._base_manager
    rows = list(manager.filter(**{f"{f.attname}__in": absorbed_ids}).values_list("pk", f.attname))
    if not rows:
        return None, []
    removed: list[dict[str, Any]] = []
    uniques = _unique_sets(m, f.name)
    moved: list[list[Any]] = []
    if not uniques:
        manager.filter(pk__in=[pk for pk, _old in rows]).update(**{f.attname: survivor_id})
        moved = [[pk, old] for pk, old in rows]
    else:
        for pk, old in rows:
            current = manager.filter(pk=pk).values()[0]
            conflict = False
            for fields in uniques:
                others = {}
                for name in fields:
                    if name == f.name:
                        continue
                    of = m._meta.get_field(name)
                    others[of.attname] = current[of.attname]
                if manager.filter(**others, **{f.attname: survivor_id}).exclude(pk=pk).exists():
                    conflict = True
                    break
            if conflict:
                removed.append({"model": m._meta.label, "values": {k: plain(v) for k, v in current.items()}})
                manager.filter(pk=pk).delete()
            else:
                manager.filter(pk=pk).update(**{f.attname: survivor_id})
                moved.append([pk, old])
    move = {"model": m._meta.label, "field": f.attname, "rows": moved} if moved else None
    return move, removed


def record_field_changes(
    model: type[models.Model], attname: str, rows: list[tuple[int, Any]], new: Any
) -> dict[str, Any]:
    """Set ``attname`` = ``new`` on rows and return a move entry (for undo)."""
    model._base_manager.filter(pk__in=[pk for pk, _old in rows]).update(**{attname: new})
    return {"model": model._meta.label, "field": attname, "rows": [[pk, plain(old)] for pk, old in rows]}


# --- merge -----------------------------------------------------------------------------------


@service
def record_merge(
    *,
    actor: Actor,
    spec: MergeSpec,
    survivor: BaseRecord,
    absorb: Sequence[int],
    choices: dict[str, Any] | None = None,
) -> Merge:
    choices = {k: v for k, v in (choices or {}).items()}
    try:
        absorb_ids = list(dict.fromkeys(int(x) for x in absorb))
    except (TypeError, ValueError):
        raise ValidationError({"absorb": [_("Expected a list of record ids.")]})
    if not absorb_ids:
        raise ValidationError({"absorb": [_("Choose at least one record to merge into this one.")]})
    if survivor.pk in absorb_ids:
        raise ValidationError({"absorb": [_("A record cannot absorb itself.")]})
    all_ids = sorted([survivor.pk, *absorb_ids])
    model = spec.model
    user = actor_user(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = {
            o.pk: o
            for o in model._default_manager.unrestricted()
            .select_for_update()
            .filter(pk__in=all_ids)
            .order_by("pk")
        }
        missing = [i for i in absorb_ids if i not in locked]
        if missing:
            raise ValidationError(
                {"absorb": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]}
            )
        gone = [
            i
            for i in all_ids
            if locked[i].deleted_at is not None or getattr(locked[i], "merged_into_id", None)
        ]
        if gone:
            raise ValidationError(
                {"absorb": [_("Already merged or deleted: %(ids)s") % {"ids": ", ".join(map(str, gone))}]}
            )
        errors: dict[str, list[str]] = {}
        for fname, source in choices.items():
            if fname not in spec.fields:
                errors.setdefault("choices", []).append(_("“%(field)s” cannot be chosen.") % {"field": fname})
            elif _int(source) not in locked:
                errors.setdefault("choices", []).append(
                    _("“%(field)s”: choose one of the merged records.") % {"field": fname}
                )
        if errors:
            raise ValidationError(errors)
        survivor = locked[survivor.pk]
        absorbed = [locked[i] for i in absorb_ids]
        before_snapshot = snapshot(survivor)
        survivor_before = _raw_values(survivor, spec)
        tags_before = current_tags(survivor)

        # 1. field values
        new: dict[str, Any] = {}
        for fname in spec.fields:
            if fname in choices:
                new[fname] = getattr(locked[_int(choices[fname])], fname)
                continue
            value = getattr(survivor, fname)
            if _empty(value):
                for a in absorbed:
                    if not _empty(getattr(a, fname)):
                        value = getattr(a, fname)
                        break
            new[fname] = value
        for list_name, primary in spec.list_fields:
            combined: list[str] = []
            for rec in (survivor, *absorbed):
                for v in [getattr(rec, primary), *(getattr(rec, list_name) or [])]:
                    if v and v not in combined:
                        combined.append(v)
            new[list_name] = [v for v in combined if v != new.get(primary)]
        custom = dict(survivor.custom_fields or {})
        for a in absorbed:
            for k, v in (a.custom_fields or {}).items():
                if k not in custom or _empty(custom[k]):
                    custom[k] = v
        new["custom_fields"] = custom
        if spec.before_save:
            spec.before_save(survivor, absorbed, new)
        for k, v in new.items():
            setattr(survivor, k, v)
        survivor.version += 1
        survivor.updated_at = now
        survivor.updated_by = user
        survivor.save()
        tag_union = sorted({*tags_before, *(t for a in absorbed for t in current_tags(a))})
        if tag_union != tags_before:
            set_tags(survivor, tag_union)

        # 2. re-point every relation
        moves: list[dict[str, Any]] = []
        removed: list[dict[str, Any]] = []
        for m, f in relations_to(model, spec.skip_relations):
            move, gone_rows = _repoint(m, f, absorb_ids, survivor.pk)
            if move:
                moves.append(move)
            removed.extend(gone_rows)
        ct = ContentType.objects.get_for_model(model)
        share_rows = list(
            Share.objects.filter(content_type=ct, object_id__in=absorb_ids).values_list("pk", "object_id")
        )
        if share_rows:
            moves.append(record_field_changes(Share, "object_id", share_rows, survivor.pk))

        # 3. tombstones
        model._base_manager.filter(pk__in=absorb_ids).update(
            merged_into=survivor.pk, merged_at=now, deleted_at=now, deleted_by=user, version=F("version") + 1
        )
        merge = Merge.objects.create(
            object_type=spec.object_type,
            survivor_id=survivor.pk,
            absorbed_ids=absorb_ids,
            choices={k: _int(v) for k, v in choices.items()},
            survivor_before=survivor_before,
            survivor_after=_raw_values(survivor, spec),
            tags_before=tags_before,
            moves=moves,
            removed=removed,
            created_by=user,
            actor_name=actor_name(actor),
        )
        if spec.after_merge:
            spec.after_merge(survivor, absorbed, merge, actor)
            merge.save(update_fields=["moves"])

        # 4. audit and events
        after_snapshot = snapshot(survivor)
        changes = changes_between(before_snapshot, after_snapshot)
        if tag_union != tags_before:
            changes["tags"] = [tags_before, tag_union]
        entries = [
            Entry(
                AuditAction.MERGE,
                spec.object_type,
                survivor.pk,
                str(survivor),
                changes,
                {"merge": merge.pk, "absorbed": absorb_ids, "choices": merge.choices},
            )
        ]
        entries += [
            Entry(
                AuditAction.MERGE,
                spec.object_type,
                a.pk,
                str(a),
                {},
                {"merge": merge.pk, "merged_into": survivor.pk},
            )
            for a in absorbed
        ]
        audit_log_many(actor=actor, entries=entries)
        from .duplicates import groups_resolved_by_merge

        groups_resolved_by_merge(
            object_type=spec.object_type, survivor_id=survivor.pk, absorbed_ids=absorb_ids, actor=actor
        )
        emit(f"{spec.object_type}.merged", actor=actor, id=survivor.pk, absorbed=absorb_ids, merge=merge.pk)
    return merge


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@service
def merge_undo(*, actor: Actor, spec: MergeSpec, merge: Merge) -> dict[str, Any]:
    """Undo a merge (within 30 days, newest merges of these records first)."""
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was already undone."))
    if merge.created_at < timezone.now() - dt.timedelta(days=UNDO_DAYS):
        raise ValidationError(_("A merge can be undone for %(days)d days only.") % {"days": UNDO_DAYS})
    ids = [merge.survivor_id, *merge.absorbed_ids]
    later = any(
        m.survivor_id in ids or set(m.absorbed_ids) & set(ids)
        for m in Merge.objects.filter(
            object_type=merge.object_type, undone_at__isnull=True, created_at__gt=merge.created_at
        ).exclude(pk=merge.pk)
    )
    if later:
        raise ValidationError(_("These records were merged again later; undo the later merge first."))
    model = spec.model
    user = actor_user(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = {
            o.pk: o
            for o in model._default_manager.unrestricted().select_for_update().filter(pk__in=sorted(ids))
        }
        survivor = locked[merge.survivor_id]
        before_snapshot = snapshot(survivor)
        kept: list[str] = []
        current = _raw_values(survivor, spec)
        for attname, old in merge.survivor_before.items():
            if not _same(model, attname, current.get(attname), merge.survivor_after.get(attname)):
                kept.append(attname)  # changed since the merge: the newer value stays
                continue
            setattr(survivor, attname, _from_plain(model, attname, old, model.sensitive_fields))
        survivor.version += 1
        survivor.updated_at = now
        survivor.updated_by = user
        survivor.save()
        added_by_merge = set()
        if merge.tags_before is not None:
            # tags the merge added are removed again; tags added since stay
            absorbed_tags = {t for i in merge.absorbed_ids if i in locked for t in current_tags(locked[i])}
            added_by_merge = absorbed_tags - set(merge.tags_before)
            now_tags = current_tags(survivor)
            wanted = [t for t in now_tags if t not in added_by_merge]
            if wanted != now_tags:
                set_tags(survivor, wanted)
        for move in reversed(merge.moves):
            m = apps.get_model(move["model"])
            by_old: dict[Any, list[int]] = {}
            for pk, old in move["rows"]:
                by_old.setdefault(old, []).append(pk)
            f = next(x for x in m._meta.concrete_fields if x.attname == move["field"])
            for old, pks in by_old.items():
                value = old if f.is_relation or old is None else f.to_python(old)
                m._base_manager.filter(pk__in=pks).update(**{move["field"]: value})
        for row in merge.removed:
            m = apps.get_model(row["model"])
            values = {}
            for k, v in row["values"].items():
                f = next((x for x in m._meta.concrete_fields if x.attname == k), None)
                if f is None:
                    continue
                values[k] = (
                    v if (v is None or f.is_relation or isinstance(f, models.JSONField)) else f.to_python(v)
                )
            if not m._base_manager.filter(pk=values.get(m._meta.pk.attname)).exists():
                m._base_manager.create(**values)
        model._base_manager.filter(pk__in=merge.absorbed_ids).update(
            merged_into=None, merged_at=None, deleted_at=None, deleted_by=None, version=F("version") + 1
        )
        restored = model._base_manager.in_bulk(merge.absorbed_ids)
        absorbed = [restored[i] for i in merge.absorbed_ids]
        if spec.after_undo:
            spec.after_undo(survivor, absorbed, merge)
        merge.undone_at = now
        merge.undone_by = user
        merge.save(update_fields=["undone_at", "undone_by"])
        changes = changes_between(before_snapshot, snapshot(survivor))
        entries = [
            Entry(
                AuditAction.UNMERGE,
                spec.object_type,
                survivor.pk,
                str(survivor),
                changes,
                {"merge": merge.pk, "restored": merge.absorbed_ids, "kept": kept},
            )
        ]
        entries += [
            Entry(AuditAction.UNMERGE, spec.object_type, a.pk, str(a), {}, {"merge": merge.pk})
            for a in absorbed
        ]
        audit_log_many(actor=actor, entries=entries)
        emit(
            f"{spec.object_type}.unmerged",
            actor=actor,
            id=survivor.pk,
            restored=merge.absorbed_ids,
            merge=merge.pk,
        )
    return {"merge": merge.pk, "restored": merge.absorbed_ids, "kept": kept}


def _same(model: type[models.Model], attname: str, current: Any, after: Any) -> bool:
    """Is the stored value still what the merge wrote? (sensitive values compare decrypted)"""
    f = next(x for x in model._meta.concrete_fields if x.attname == attname)
    if f.name in getattr(model, "sensitive_fields", ()):
        try:
            return (decrypt(current) if current else "") == (decrypt(after) if after else "")
        except ValueError:
            return False
    return current == after


# --- customers and contacts ------------------------------------------------------------------

CUSTOMER_MERGE_FIELDS = (
    "name",
    "short_name",
    "kind",
    "uscc",
    "industry",
    "size",
    "revenue_band",
    "region",
    "address",
    "phone",
    "email",
    "website",
    "source",
    "lifecycle_stage",
    "tier",
    "rating",
    "id_number",
    "bank_account",
    "owner",
    "owner_unit",
)


def _customer_before_save(survivor: Customer, absorbed: list[Customer], new: dict[str, Any]) -> None:
    from .services import derived_values

    for k, v in derived_values(
        new["name"], new.get("id_number") or "", new.get("bank_account") or ""
    ).items():
        new[k] = v
    if "owner" in new and new["owner"] is not None:
        owner = new["owner"]
        if getattr(survivor, "owner_id", None) != owner.pk:
            new["owner_unit"] = owner.primary_unit if owner.primary_unit_id else new.get("owner_unit")
    stamps = [x for x in [survivor.last_contacted_at, *(a.last_contacted_at for a in absorbed)] if x]
    new["last_contacted_at"] = max(stamps) if stamps else None


def _customer_after_merge(survivor: Customer, absorbed: list[Customer], merge: Merge, actor: Actor) -> None:
    from .services import _sync_identifiers, customer_touch

    absorbed_ids = [a.pk for a in absorbed]
    CustomerIdentifier.objects.filter(customer_id__in=absorbed_ids).delete()
    _sync_identifiers(survivor)
    primaries = list(
        CustomerAddress.objects.filter(customer=survivor, is_primary=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if len(primaries) > 1:
        moved_ids = {
            pk for mv in merge.moves if mv["model"] == "customers.CustomerAddress" for pk, _o in mv["rows"]
        }
        keep = next((pk for pk in primaries if pk not in moved_ids), primaries[0])
        extra = [(pk, True) for pk in primaries if pk != keep]
        merge.moves.append(record_field_changes(CustomerAddress, "is_primary", extra, False))
    # contacts and follow-ups taken over follow the survivor's owner
    for model in (Contact, FollowUp):
        moved_ids = {
            pk
            for mv in merge.moves
            if mv["model"] == model._meta.label and mv["field"] == "customer_id"
            for pk, _o in mv["rows"]
        }
        if not moved_ids:
            continue
        rows = list(
            model._base_manager.filter(pk__in=moved_ids)
            .exclude(owner_id=survivor.owner_id, owner_unit_id=survivor.owner_unit_id)
            .values_list("pk", "owner_id", "owner_unit_id")
        )
        if rows:
            merge.moves.append(
                record_field_changes(model, "owner_id", [(r[0], r[1]) for r in rows], survivor.owner_id)
            )
            merge.moves.append(
                record_field_changes(
                    model, "owner_unit_id", [(r[0], r[2]) for r in rows], survivor.owner_unit_id
                )
            )
    customer_touch(customer=survivor)


def _customer_after_undo(survivor: Customer, absorbed: list[Customer], merge: Merge) -> None:
    from .services import _sync_identifiers, customer_touch

    for c in [survivor, *absorbed]:
        _sync_identifiers(c)
        customer_touch(customer=c)


CUSTOMER_MERGE = MergeSpec(
    object_type="customer",
    model=Customer,
    fields=CUSTOMER_MERGE_FIELDS,
    list_fields=(("phones", "phone"), ("emails", "email")),
    skip_relations={"customers.CustomerIdentifier.customer"},
    derived=DERIVED,
    before_save=_customer_before_save,
    after_merge=_customer_after_merge,
    after_undo=_customer_after_undo,
)

CONTACT_MERGE_FIELDS = (
    "name",
    "title",
    "department",
    "mobile",
    "phone",
    "email",
    "wechat",
    "birthday",
    "decision_role",
    "preferred_channel",
    "left_company",
    "left_at",
    "customer",
)


def _contact_before_save(survivor: Contact, absorbed: list[Contact], new: dict[str, Any]) -> None:
    from .matching import person_key

    new["name_key"] = person_key(new["name"])[:120]
    consents: dict[str, Any] = {}
    for c in (survivor, *absorbed):
        for channel, item in (c.consents or {}).items():
            if channel not in consents or str(item.get("at", "")) > str(consents[channel].get("at", "")):
                consents[channel] = item
    new["consents"] = consents


def _contact_after_merge(survivor: Contact, absorbed: list[Contact], merge: Merge, actor: Actor) -> None:
    links = list(
        ContactCustomer.objects.filter(contact=survivor, is_primary=True)
        .order_by("id")
        .values_list("pk", "customer_id")
    )
    if len(links) > 1:
        keep = next((pk for pk, cid in links if cid == survivor.customer_id), links[0][0])
        extra = [(pk, True) for pk, _c in links if pk != keep]
        merge.moves.append(record_field_changes(ContactCustomer, "is_primary", extra, False))


CONTACT_MERGE = MergeSpec(
    object_type="contact",
    model=Contact,
    # "consents" is combined by _contact_before_save; listed so that undo restores it
    fields=(*CONTACT_MERGE_FIELDS, "consents"),
    list_fields=(("phones", "phone"), ("emails", "email")),
    derived=("name_key",),
    before_save=_contact_before_save,
    after_merge=_contact_after_merge,
)


@service
def customer_merge(
    *, actor: Actor, survivor: Customer, absorb: Sequence[int], choices: dict[str, Any] | None = None
) -> Merge:
    return record_merge(actor=actor, spec=CUSTOMER_MERGE, survivor=survivor, absorb=absorb, choices=choices)


@service
def contact_merge(
    *, actor: Actor, survivor: Contact, absorb: Sequence[int], choices: dict[str, Any] | None = None
) -> Merge:
    return record_merge(actor=actor, spec=CONTACT_MERGE, survivor=survivor, absorb=absorb, choices=choices)


SPECS = {"customer": CUSTOMER_MERGE, "contact": CONTACT_MERGE}


@service
def merge_undo_by_id(*, actor: Actor, object_type: str, survivor_id: int, merge_id: int) -> dict[str, Any]:
    merge = Merge.objects.filter(pk=merge_id, object_type=object_type, survivor_id=survivor_id).first()
    if merge is None:
        from django.http import Http404

        raise Http404("merge not found")
    return merge_undo(actor=actor, spec=SPECS[object_type], merge=merge)
