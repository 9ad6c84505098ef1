"""Every write on customers, contacts and follow-ups goes through here.

UI forms, the API, imports, automation and the demo call these functions, so validation
(``validation.py``), duplicate checks (``duplicates.py``), numbering, audit, events and
notifications apply the same way everywhere. Pools: ``pools.py``; merges: ``merging.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import nh3
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.platform.access.models import Share
from huoban.platform.access.scoping import has_perm, scoped, service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log, audit_log_many
from huoban.platform.errors import DuplicateError, NotFoundError, PermissionDeniedError, ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, actor_user
from huoban.platform.records.encryption import blind_index
from huoban.platform.records.models import Tag, TaggedItem
from huoban.platform.records.services import (
    bump_version,
    lock_for_write,
    next_numbers,
    record_create,
    record_delete,
    record_transfer,
    record_update,
)
from huoban.platform.records.uploads import Upload, check_upload, release_stored_file

from .matching import block_keys, name_key, person_key
from .models import (
    Attachment,
    Contact,
    ContactCustomer,
    Customer,
    CustomerAddress,
    CustomerIdentifier,
    FollowUp,
)
from .validation import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    Cleaner,
    _choice,
    _datetime,
    _text,
    clean_address,
    clean_contact_data,
    clean_customer_data,
)

# Fields a customer write may set (derived and system fields are set by the services; the
# address list is written by ``_sync_addresses``).
EDITABLE = (*(f for f in CUSTOMER_FIELDS if f != "addresses"), "owner")
DERIVED = ("name_key", "dedup_prefix", "dedup_suffix", "id_number_index", "bank_account_index")
IDENTITY_FIELDS = ("name", "uscc", "phone", "phones", "email", "emails")


# --- derived values --------------------------------------------------------------------------


def derived_values(name: str, id_number: str = "", bank_account: str = "") -> dict[str, str]:
    """Normalised name, blocking keys and blind indexes for a customer."""
    key = name_key(name)
    keys = block_keys(key)
    return {
        "name_key": key.core[:200],
        "dedup_prefix": keys[0][:24] if keys else "",
        "dedup_suffix": keys[1][:24] if len(keys) > 1 else "",
        "id_number_index": blind_index(id_number) if id_number else "",
        "bank_account_index": blind_index(bank_account) if bank_account else "",
    }


def identifier_values(
    phone: str, phones: Iterable[str], email: str, emails: Iterable[str]
) -> list[tuple[str, str]]:
    """(kind, value) pairs for exact duplicate lookups: phones without extension, e-mails lower-case."""
    out: list[tuple[str, str]] = []
    for p in [phone, *(phones or [])]:
        if p:
            v = ("phone", p.split(";")[0])
            if v not in out:
                out.append(v)
    for e in [email, *(emails or [])]:
        if e:
            v = ("email", e.lower())
            if v not in out:
                out.append(v)
    return out


def _sync_identifiers(customer: Customer) -> None:
    wanted = set(identifier_values(customer.phone, customer.phones, customer.email, customer.emails))
    have = {(i.kind, i.value): i.pk for i in CustomerIdentifier.objects.filter(customer=customer)}
    stale = [pk for kv, pk in have.items() if kv not in wanted]
    if stale:
        CustomerIdentifier.objects.filter(pk__in=stale).delete()
    CustomerIdentifier.objects.bulk_create(
        [CustomerIdentifier(customer=customer, kind=k, value=v) for k, v in wanted if (k, v) not in have]
    )


def _sync_addresses(customer: Customer, addresses: list[dict[str, Any]] | None, address: str | None) -> None:
    """Replace the address list (``addresses``) or set the primary line (``address``)."""
    if addresses is not None:
        keep = {int(a["id"]) for a in addresses if str(a.get("id", "")).isdigit()}
        CustomerAddress.objects.filter(customer=customer).exclude(pk__in=keep).delete()
        existing = {a.pk: a for a in CustomerAddress.objects.filter(customer=customer)}
        for a in addresses:
            fields = {k: a[k] for k in ("kind", "region", "line", "postal_code", "is_primary")}
            obj = existing.get(int(a["id"])) if str(a.get("id", "")).isdigit() else None
            if obj is None:
                CustomerAddress.objects.create(customer=customer, **fields)
            else:
                for k, v in fields.items():
                    setattr(obj, k, v)
                obj.save()
        primary = CustomerAddress.objects.filter(customer=customer, is_primary=True).first()
        line = primary.line if primary else ""
        if customer.address != line:
            Customer.objects.filter(pk=customer.pk).update(address=line)
            customer.address = line
        return
    if address is not None:
        primary = CustomerAddress.objects.filter(customer=customer, is_primary=True).first()
        if not address:
            if primary:
                primary.delete()
            return
        if primary is None:
            CustomerAddress.objects.create(
                customer=customer, line=address, region=customer.region, is_primary=True
            )
        elif primary.line != address:
            primary.line = address
            primary.save(update_fields=["line"])


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _take_extras(cleaned: dict[str, Any], custom_fields: Any, tags: Any) -> tuple[Any, Any]:
    """Remove ``custom_fields``/``tags`` from cleaned input; the arguments win over the input."""
    from_data = cleaned.pop("custom_fields", None), cleaned.pop("tags", None)
    return (
        custom_fields if custom_fields is not None else from_data[0],
        tags if tags is not None else from_data[1],
    )


def _confirmed_different(actor: Actor, obj: Customer | Contact, candidates: list[dict[str, Any]]) -> None:
    """The user saved despite these likely duplicates: never report the pairs again."""
    if candidates:
        from .duplicates import dismiss_pairs

        dismiss_pairs(
            actor=actor, object_type=obj.object_type, ids=[obj.pk], others=[c["id"] for c in candidates]
        )


def _check_duplicates(
    *, name: str, uscc: str, phones: list[str], emails: list[str], exclude_id: int | None, confirm: bool
) -> list[dict[str, Any]]:
    from .duplicates import customer_duplicate_candidates

    candidates = customer_duplicate_candidates(
        name=name, uscc=uscc, phones=phones, emails=emails, exclude_ids=[exclude_id] if exclude_id else []
    )
    if candidates and not confirm:
        raise DuplicateError(candidates)
    return candidates


# --- customers -------------------------------------------------------------------------------


@service
def customer_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    confirm_duplicate: bool = False,
    check_duplicates: bool = True,
    strict_lists: bool = False,
) -> Customer:
    """Create a customer from raw input (validated and normalised here).

    Likely duplicates raise ``DuplicateError`` unless ``confirm_duplicate``; confirming records
    "different customers" for the candidates, so the scan does not report them again.
    ``check_duplicates=False`` skips the check (system paths that dedupe on their own).
    ``strict_lists`` (web forms): a secondary phone/e-mail given twice or equal to the main one
    is an error instead of being dropped.
    """
    cleaned, errors = clean_customer_data(data, strict_lists=strict_lists)
    _raise(errors)
    addresses = cleaned.pop("addresses", None)
    custom_fields, tags = _take_extras(cleaned, custom_fields, tags)
    owner = cleaned.pop("owner", None)
    with transaction.atomic():
        candidates = (
            _check_duplicates(
                name=cleaned["name"],
                uscc=cleaned.get("uscc", ""),
                phones=[cleaned.get("phone", ""), *cleaned.get("phones", [])],
                emails=[cleaned.get("email", ""), *cleaned.get("emails", [])],
                exclude_id=None,
                confirm=confirm_duplicate,
            )
            if check_duplicates
            else []
        )
        obj = Customer(**{k: v for k, v in cleaned.items() if k in EDITABLE})
        if owner is not None:
            obj.owner = owner
        for k, v in derived_values(obj.name, obj.id_number, obj.bank_account).items():
            setattr(obj, k, v)
        obj.number = next_numbers("customer", 1)[0]
        obj = record_create(
            actor=actor,
            obj=obj,
            custom_fields=custom_fields,
            tags=tags,
            audit_data={"confirmed_duplicates": [c["id"] for c in candidates]} if candidates else None,
        )
        _sync_identifiers(obj)
        _sync_addresses(obj, addresses, cleaned.get("address") or None)
        _confirmed_different(actor, obj, candidates)
    return obj


@service
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
    confirm_duplicate: bool = False,
    strict_lists: bool = False,
) -> Customer:
    cleaned, errors = clean_customer_data(data, partial=True, instance=customer, strict_lists=strict_lists)
    _raise(errors)
    addresses = cleaned.pop("addresses", None)
    _take_extras(cleaned, None, None)  # updates take them as arguments only
    unknown = [k for k in data if k not in EDITABLE and k not in ("addresses", "custom_fields", "tags")]
    if unknown:
        raise ValidationError({k: [_("This field cannot be changed here.")] for k in unknown})
    with transaction.atomic():
        candidates: list[dict[str, Any]] = []
        if any(k in cleaned and cleaned[k] != getattr(customer, k) for k in IDENTITY_FIELDS):
            merged = {k: cleaned.get(k, getattr(customer, k)) for k in IDENTITY_FIELDS}
            candidates = _check_duplicates(
                name=merged["name"],
                uscc=merged["uscc"],
                phones=[merged["phone"], *merged["phones"]],
                emails=[merged["email"], *merged["emails"]],
                exclude_id=customer.pk,
                confirm=confirm_duplicate,
            )
        name = cleaned.get("name", customer.name)
        id_number = cleaned.get("id_number", customer.id_number)
        bank_account = cleaned.get("bank_account", customer.bank_account)
        changes = {k: v for k, v in cleaned.items() if k in EDITABLE}
        changes.update(derived_values(name, id_number, bank_account))
        # the version the write starts from: one update is one version, addresses included
        start = lock_for_write(customer, version).version if addresses is not None else None
        obj = record_update(
            actor=actor,
            obj=customer,
            data=changes,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            allowed_fields=(*EDITABLE, *DERIVED),
        )
        if any(k in cleaned for k in ("phone", "phones", "email", "emails")):
            _sync_identifiers(obj)
        if addresses is not None:
            before = address_summaries(obj)
            _sync_addresses(obj, addresses, None)
            after = address_summaries(obj)
            if before != after:  # audited (and versioned) like the address services
                _addresses_written(actor, obj, "; ".join(before), "; ".join(after), bump=obj.version == start)
        elif "address" in cleaned:
            _sync_addresses(obj, None, cleaned.get("address"))
        _confirmed_different(actor, obj, candidates)
    return obj


@service
def customer_delete(*, actor: Actor, customer: Customer, version: int | None = None) -> Customer:
    return record_delete(actor=actor, obj=customer, version=version)


@service
def customer_bulk_create(
    *,
    actor: Actor,
    rows: Sequence[dict[str, Any]],
    owner: Any = None,
    tags: Iterable[str] | None = None,
    batch_size: int = 2000,
    audit_data: dict[str, Any] | None = None,
) -> list[int]:
    """Insert many customers whose rows were already cleaned by ``clean_customer_data``.

    Validates nothing again (the importer did), numbers them with one ``next_numbers`` call,
    writes with ``bulk_create`` in batches, audits with ``audit_log_many`` and emits one
    ``customer.bulk_created`` event with the ids. A row may carry ``owner`` (a user),
    ``custom_fields`` (already validated) and ``tags``; ``owner`` applies to rows without one.
    Duplicate checks are the caller's choice (``duplicates.find_duplicates_bulk``).
    """
    if not rows:
        return []
    user = actor_user(actor)
    default_owner = owner if owner is not None else user
    now = timezone.now()
    extra_tags = list(tags or [])
    ids: list[int] = []
    with transaction.atomic():
        numbers = next_numbers("customer", len(rows))
        ct = ContentType.objects.get_for_model(Customer)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            objs: list[Customer] = []
            for i, row in enumerate(chunk):
                o = row.get("owner") or default_owner
                obj = Customer(**{k: v for k, v in row.items() if k in EDITABLE and k != "owner"})
                obj.number = numbers[start + i]
                obj.owner = o
                obj.owner_unit_id = getattr(o, "primary_unit_id", None) if o is not None else None
                obj.created_by = obj.updated_by = user
                obj.created_at = obj.updated_at = now
                obj.custom_fields = row.get("custom_fields") or {}
                for k, v in derived_values(obj.name, obj.id_number, obj.bank_account).items():
                    setattr(obj, k, v)
                objs.append(obj)
            Customer.objects.bulk_create(objs, batch_size=batch_size)
            if objs and objs[0].pk is None:  # backends without RETURNING: read the ids back
                by_number = dict(
                    Customer.objects.unrestricted()
                    .filter(number__in=[o.number for o in objs])
                    .values_list("number", "pk")
                )
                for o in objs:
                    o.pk = o.id = by_number[o.number]
            idents = [
                CustomerIdentifier(customer_id=o.pk, kind=k, value=v)
                for o in objs
                for k, v in identifier_values(o.phone, o.phones, o.email, o.emails)
            ]
            CustomerIdentifier.objects.bulk_create(idents, batch_size=5000)
            addresses = [
                CustomerAddress(customer_id=o.pk, line=o.address, region=o.region, is_primary=True)
                for o in objs
                if o.address
            ]
            CustomerAddress.objects.bulk_create(addresses, batch_size=5000)
            tag_rows: list[TaggedItem] = []
            wanted_tags = {n for r in chunk for n in (r.get("tags") or [])} | set(extra_tags)
            if wanted_tags:
                tag_map = {t.name: t for t in Tag.objects.filter(name__in=wanted_tags)}
                for n in wanted_tags - set(tag_map):
                    tag_map[n], _c = Tag.objects.get_or_create(name=n)
                for o, r in zip(objs, chunk, strict=True):
                    for n in dict.fromkeys([*(r.get("tags") or []), *extra_tags]):
                        tag_rows.append(TaggedItem(tag=tag_map[n], content_type=ct, object_id=o.pk))
                TaggedItem.objects.bulk_create(tag_rows, batch_size=5000, ignore_conflicts=True)
            entries = [
                Entry(
                    AuditAction.CREATE,
                    "customer",
                    o.pk,
                    o.name,
                    {
                        k: [None, v]
                        for k, v in (
                            ("number", o.number),
                            ("name", o.name),
                            ("uscc", o.uscc),
                            ("phone", o.phone),
                            ("email", o.email),
                            ("owner", o.owner_id),
                        )
                        if v
                    },
                    audit_data or {},
                )
                for o in objs
            ]
            audit_log_many(actor=actor, entries=entries)
            ids.extend(o.pk for o in objs)
        emit("customer.bulk_created", actor=actor, ids=ids)
    return ids


@service
def customer_touch(*, customer: Customer) -> None:
    """Recompute last contacted / next follow-up from the customer's follow-ups."""
    agg = (
        FollowUp.objects.unrestricted()
        .filter(customer=customer, deleted_at__isnull=True)
        .aggregate(last=Max("occurred_at"))
    )
    now = timezone.now()
    nxt = (
        FollowUp.objects.unrestricted()
        .filter(customer=customer, deleted_at__isnull=True, next_follow_up_at__gte=now)
        .order_by("next_follow_up_at")
        .values_list("next_follow_up_at", flat=True)
        .first()
    )
    Customer.objects.filter(pk=customer.pk).update(last_contacted_at=agg["last"], next_follow_up_at=nxt)
    customer.last_contacted_at, customer.next_follow_up_at = agg["last"], nxt


def cascade_owner(
    customer_ids: Sequence[int], owner: Any, owner_unit_id: int | None, previous: Any = "any"
) -> None:
    """Contacts (primary customer) and follow-ups of these customers follow the customer's owner.
    Open tasks move too when they belonged to the previous owner."""
    now = timezone.now()
    owner_id = owner.pk if owner is not None else None
    values = {
        "owner_id": owner_id,
        "owner_unit_id": owner_unit_id,
        "updated_at": now,
        "version": F("version") + 1,
    }
    Contact.objects.filter(customer_id__in=customer_ids, deleted_at__isnull=True).exclude(
        owner_id=owner_id, owner_unit_id=owner_unit_id
    ).update(**values)
    FollowUp.objects.filter(customer_id__in=customer_ids, deleted_at__isnull=True).exclude(
        owner_id=owner_id, owner_unit_id=owner_unit_id
    ).update(**values)
    try:
        from huoban.activities.models import Task
    except ImportError:  # pragma: no cover - activities is installed with customers
        return
    tasks = Task.objects.filter(
        customer_id__in=customer_ids, deleted_at__isnull=True, status=Task.Status.OPEN
    )
    if previous != "any":
        tasks = tasks.filter(owner_id=getattr(previous, "pk", previous))
    if owner is not None:
        tasks.exclude(owner_id=owner_id).update(**values)


@service
def customer_transfer(
    *, actor: Actor, customers: Sequence[Customer], new_owner: Any, reason: str = ""
) -> int:
    """Transfer customers to a new owner; contacts, follow-ups and open tasks follow; a pool
    customer leaves its pool."""
    with transaction.atomic():
        by_previous: dict[int | None, list[int]] = {}
        for c in customers:
            by_previous.setdefault(c.owner_id, []).append(c.pk)
        n = record_transfer(actor=actor, objs=list(customers), new_owner=new_owner, reason=reason)
        ids = [c.pk for c in customers]
        Customer.objects.filter(pk__in=ids, pool__isnull=False).update(pool=None, pooled_at=None)
        for previous, cids in by_previous.items():
            cascade_owner(cids, new_owner, new_owner.primary_unit_id, previous=previous)
    return n


# --- contacts --------------------------------------------------------------------------------

CONTACT_EDITABLE = (*CONTACT_FIELDS, "owner")


def _resolve_customers(raw_primary: Any, raw_list: Any) -> tuple[Customer | None, list[Customer]]:
    ids: list[int] = []
    primary_id = None
    if raw_primary not in (None, ""):
        primary_id = getattr(raw_primary, "pk", raw_primary)
        ids.append(int(primary_id))
    for item in raw_list or []:
        pk = int(getattr(item, "pk", item))
        if pk not in ids:
            ids.append(pk)
    found = {c.pk: c for c in Customer.objects.unrestricted().filter(pk__in=ids, deleted_at__isnull=True)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(
            {"customers": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]}
        )
    primary = found.get(int(primary_id)) if primary_id is not None else (found[ids[0]] if ids else None)
    return primary, [found[i] for i in ids]


def _set_contact_customers(contact: Contact, primary: Customer | None, customers: list[Customer]) -> None:
    wanted = {c.pk for c in customers}
    ContactCustomer.objects.filter(contact=contact).exclude(customer_id__in=wanted).delete()
    have = set(ContactCustomer.objects.filter(contact=contact).values_list("customer_id", flat=True))
    ContactCustomer.objects.bulk_create(
        [ContactCustomer(contact=contact, customer_id=pk) for pk in wanted - have]
    )
    ContactCustomer.objects.filter(contact=contact).update(is_primary=False)
    if primary is not None:
        ContactCustomer.objects.filter(contact=contact, customer=primary).update(is_primary=True)


def _contact_owner(actor: Actor, primary: Customer | None) -> tuple[Any, int | None]:
    if primary is not None and primary.owner_id is not None:
        return primary.owner, primary.owner_unit_id
    if primary is not None and primary.pool_id is not None:
        return None, primary.owner_unit_id
    user = actor_user(actor)
    return user, getattr(user, "primary_unit_id", None)


def _notify_left(contact: Contact, actor: Actor) -> None:
    from huoban.platform.notifications.services import notify

    recipients = {contact.owner} if contact.owner else set()
    if contact.customer is not None and contact.customer.owner is not None:
        recipients.add(contact.customer.owner)
    user = actor_user(actor)
    for r in recipients:
        if user is not None and r.pk == user.pk:
            continue
        notify(
            recipient=r,
            verb="contact.left_company",
            title=gettext_noop("%(name)s has left %(customer)s"),
            title_args={"name": contact.name, "customer": contact.customer.name if contact.customer else ""},
            url=f"/contacts/{contact.pk}/",
            data={"contact": contact.pk},
        )


@service
def contact_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    confirm_duplicate: bool = False,
    check_duplicates: bool = True,
    strict_lists: bool = False,
) -> Contact:
    cleaned, errors = clean_contact_data(data, strict_lists=strict_lists)
    _raise(errors)
    primary, customers = _resolve_customers(cleaned.pop("customer", None), cleaned.pop("customers", None))
    custom_fields, tags = _take_extras(cleaned, custom_fields, tags)
    explicit_owner = cleaned.pop("owner", None)
    with transaction.atomic():
        from .duplicates import contact_duplicate_candidates

        candidates = (
            contact_duplicate_candidates(
                name=cleaned["name"],
                phones=[cleaned.get("mobile", ""), cleaned.get("phone", ""), *cleaned.get("phones", [])],
                emails=[cleaned.get("email", ""), *cleaned.get("emails", [])],
                customer_ids=[c.pk for c in customers],
            )
            if check_duplicates
            else []
        )
        if candidates and not confirm_duplicate:
            raise DuplicateError(candidates)
        obj = Contact(**{k: v for k, v in cleaned.items() if k in CONTACT_EDITABLE})
        owner, unit = _contact_owner(actor, primary)
        obj.owner = explicit_owner or owner
        obj.owner_unit_id = getattr(explicit_owner, "primary_unit_id", None) if explicit_owner else unit
        obj.customer = primary
        obj.name_key = person_key(obj.name)[:120]
        if obj.owner is None:
            # record_create would default the owner to the actor; a pool customer's contact has none
            obj.owner_unit_id = unit
        obj = record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags)
        if primary is not None and primary.owner_id is None and obj.owner_id is not None:
            Contact.objects.filter(pk=obj.pk).update(owner=None, owner_unit_id=unit)
            obj.owner, obj.owner_unit_id = None, unit
        _set_contact_customers(obj, primary, customers)
        _confirmed_different(actor, obj, candidates)
        if obj.left_company:
            _notify_left(obj, actor)
    return obj


@service
def contact_update(
    *,
    actor: Actor,
    contact: Contact,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
    strict_lists: bool = False,
) -> Contact:
    cleaned, errors = clean_contact_data(data, partial=True, instance=contact, strict_lists=strict_lists)
    _raise(errors)
    relink = "customer" in cleaned or "customers" in cleaned
    primary, customers = None, []
    if relink:
        raw_primary = cleaned.pop("customer", None)
        raw_list = cleaned.pop("customers", None)
        if raw_list is None:
            raw_list = list(contact.customer_links.values_list("customer_id", flat=True))
        if raw_primary is None and "customer" not in data:
            raw_primary = contact.customer_id
        primary, customers = _resolve_customers(raw_primary, raw_list)
    _take_extras(cleaned, None, None)  # updates take them as arguments only
    was_left = contact.left_company
    with transaction.atomic():
        changes = {k: v for k, v in cleaned.items() if k in CONTACT_EDITABLE}
        if "name" in changes:
            changes["name_key"] = person_key(changes["name"])[:120]
        if relink:
            changes["customer"] = primary
        obj = record_update(
            actor=actor,
            obj=contact,
            data=changes,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            allowed_fields=(*CONTACT_EDITABLE, "name_key", "customer"),
        )
        if relink:
            _set_contact_customers(obj, primary, customers)
        if obj.left_company and not was_left:
            _notify_left(obj, actor)
    return obj


# --- follow-ups ------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "blockquote",
    "a",
    "h3",
    "h4",
    "code",
    "pre",
    "span",
}


def sanitize_html(html: str) -> str:
    """Rich text as the browser sent it, with everything but harmless formatting removed."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


FOLLOW_UP_EDITABLE = ("type", "occurred_at", "content", "outcome", "next_follow_up_at", "contact")


def _occurred_at(value: Any) -> dt.datetime:
    when = _datetime(value) or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValueError(_("A follow-up records something that happened; choose a past time."))
    return when


def _clean_follow_up(data: dict[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    f = Cleaner(data)
    f.field("type", lambda v: _choice(v or FollowUp.Type.CALL, FollowUp.Type), always=not partial)
    f.field("occurred_at", _occurred_at, always=not partial)
    if f.has("content"):
        content = f.cleaned["content"] = sanitize_html(str(data.get("content") or ""))
        if len(content) > 20000:
            f.fail("content", _("At most %(n)d characters.") % {"n": 20000})
    f.field("outcome", lambda v: _text(v, 300))
    f.field("next_follow_up_at", _datetime)
    if not partial and not f.cleaned.get("content") and not f.cleaned.get("outcome"):
        f.fail("content", _("Write what happened (content or outcome)."))
    return f.result()


@service
def follow_up_create(
    *,
    actor: Actor,
    customer: Customer,
    data: dict[str, Any],
    contact: Contact | None = None,
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    files: Sequence[Any] = (),
) -> FollowUp:
    """Record a follow-up; the customer's last contacted / next follow-up times follow, and a
    next follow-up date creates a reminder task for the customer's owner (activities app, via
    the ``follow_up.created`` event).

    ``files`` (uploaded files) are attached in the same transaction. Each is checked first
    (``check_upload``); a refused one is a ``files`` error next to the other field errors and
    nothing is saved, so the caller can show the whole form again."""
    cleaned, errors = _clean_follow_up(data, partial=False)
    if (
        contact is not None
        and not ContactCustomer.objects.filter(contact=contact, customer=customer).exists()
    ):
        errors.setdefault("contact", []).append(_("This contact does not belong to the customer."))
    uploads, file_errors = _check_files(files)
    if file_errors:
        errors.setdefault("files", []).extend(file_errors)
    _raise(errors)
    if customer.merged_into_id or customer.deleted_at:
        raise ValidationError({"customer": [_("This customer was merged or deleted.")]})
    with _forget_stored_on_failure() as stored, transaction.atomic():
        obj = FollowUp(customer=customer, contact=contact, **cleaned)
        user = actor_user(actor)
        if customer.owner_id is not None:
            obj.owner, obj.owner_unit_id = customer.owner, customer.owner_unit_id
        else:
            obj.owner, obj.owner_unit_id = user, getattr(user, "primary_unit_id", None)
        obj = record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags, event=False)
        if user is not None and obj.owner_id not in (None, user.pk):
            # the author keeps seeing (and may correct) what they wrote on someone else's customer
            Share.objects.create(
                content_type=ContentType.objects.get_for_model(FollowUp),
                object_id=obj.pk,
                user=user,
                level=Share.Level.EDIT,
                created_by=user,
            )
        for file, upload in uploads:
            att = _store_attachment(actor=actor, file=file, upload=upload, follow_up=obj)
            stored.append(att.file)
            _audit_attachment(actor, obj, att, att.pk, added=True)
        customer_touch(customer=customer)
        emit(
            "follow_up.created",
            actor=actor,
            id=obj.pk,
            customer=customer.pk,
            next_follow_up_at=obj.next_follow_up_at.isoformat() if obj.next_follow_up_at else None,
        )
    return obj


@service
def follow_up_update(
    *,
    actor: Actor,
    follow_up: FollowUp,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
) -> FollowUp:
    cleaned, errors = _clean_follow_up(data, partial=True)
    if "contact" in data:
        raw = data.get("contact")
        contact = None
        if raw not in (None, ""):
            pk = getattr(raw, "pk", raw)
            contact = Contact.objects.unrestricted().filter(pk=pk).first() if str(pk).isdigit() else None
            if (
                contact is None
                or not ContactCustomer.objects.filter(
                    contact=contact, customer_id=follow_up.customer_id
                ).exists()
            ):
                errors.setdefault("contact", []).append(_("This contact does not belong to the customer."))
        cleaned["contact"] = contact
    _raise(errors)
    with transaction.atomic():
        before_next = follow_up.next_follow_up_at
        obj = record_update(
            actor=actor,
            obj=follow_up,
            data=cleaned,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            allowed_fields=FOLLOW_UP_EDITABLE,
        )
        customer_touch(customer=obj.customer)
        if obj.next_follow_up_at != before_next:
            emit(
                "follow_up.rescheduled",
                actor=actor,
                id=obj.pk,
                customer=obj.customer_id,
                next_follow_up_at=obj.next_follow_up_at.isoformat() if obj.next_follow_up_at else None,
            )
    return obj


@service
def follow_up_delete(*, actor: Actor, follow_up: FollowUp, version: int | None = None) -> FollowUp:
    with transaction.atomic():
        obj = record_delete(actor=actor, obj=follow_up, version=version)
        customer_touch(customer=obj.customer)
    return obj


MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_FILES_AT_ONCE = 10  # files attached together with a new follow-up


def _check_files(files: Sequence[Any]) -> tuple[list[tuple[Any, Upload]], list[str]]:
    """``check_upload`` for each file: (accepted (file, upload) pairs, messages for refused ones)."""
    files = [f for f in files or () if f is not None]
    if len(files) > MAX_FILES_AT_ONCE:
        return [], [_("At most %(n)d files at once; add more afterwards.") % {"n": MAX_FILES_AT_ONCE}]
    accepted: list[tuple[Any, Upload]] = []
    refused: list[str] = []
    for file in files:
        try:
            accepted.append((file, check_upload(file, max_bytes=MAX_ATTACHMENT_BYTES)))
        except ValidationError as exc:
            refused.extend(str(m) for m in exc.errors.get("file", []))
    return accepted, refused


def _store_attachment(
    *, actor: Actor, file: Any, upload: Upload, follow_up: FollowUp | None = None, customer: Any = None
) -> Attachment:
    """Save the bytes and the row of a checked upload: a follow-up's file (through it, the
    customer's too) or, without ``follow_up``, a file of ``customer`` itself."""
    att = Attachment(
        follow_up=follow_up,
        customer_id=follow_up.customer_id if follow_up is not None else getattr(customer, "pk", customer),
        name=upload.name,
        size=upload.size,
        content_type=upload.content_type,
        uploaded_by=actor_user(actor),
    )
    att.file.save(upload.name, file, save=False)
    att.save()
    return att


def _remove_attachment(row: Attachment) -> None:
    """Delete the row (inside the caller's transaction); the stored bytes go after commit unless
    another attachment row still points at them (files linked from a converted lead stay)."""
    file = row.file
    row.delete()
    release_stored_file(file)


@contextlib.contextmanager
def _forget_stored_on_failure() -> Iterator[list[Any]]:
    """Collects the files (``FieldFile``) stored inside a transaction; when the block fails, the
    transaction rolls their rows back and this removes the bytes too."""
    stored: list[Any] = []
    try:
        yield stored
    except BaseException:
        for f in stored:
            with contextlib.suppress(OSError):
                f.storage.delete(f.name)
        raise


def _audit_attachment(actor: Actor, follow_up: FollowUp, att: Attachment, pk: int, *, added: bool) -> None:
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=follow_up,
        changes={"attachments": [None, att.name] if added else [att.name, None]},
        data={"attachment_id": pk, "size": att.size},
    )


@service
def attachment_link(*, actor: Actor, customer: Customer, source: Any) -> Attachment:
    """Attach an already stored file (e.g. of a converted lead) to a customer, without copying the
    bytes: the new row points at the same file; audited on the customer."""
    with transaction.atomic():
        att = Attachment.objects.create(
            customer=customer,
            file=source.file.name,
            name=source.name,
            size=source.size,
            content_type=source.content_type,
            uploaded_by=source.uploaded_by,
            uploaded_at=source.uploaded_at,
        )
        audit_log(
            actor=actor, action=AuditAction.UPDATE, obj=customer, changes={"attachments": [None, att.name]}
        )
    return att


@service
def attachment_add(*, actor: Actor, follow_up: FollowUp, file: Any, name: str = "") -> Attachment:
    """Attach a file to a follow-up (and through it to the customer). The acting user must be
    allowed to change the follow-up (else 403 / 404, as the customer's files); checked like every
    upload (``check_upload``: at most ``MAX_ATTACHMENT_BYTES``, no programs, scripts or web
    pages); audited on the follow-up."""
    _require_change(actor, follow_up)
    upload = check_upload(file, name=name, max_bytes=MAX_ATTACHMENT_BYTES)
    with _forget_stored_on_failure() as stored, transaction.atomic():
        att = _store_attachment(actor=actor, file=file, upload=upload, follow_up=follow_up)
        stored.append(att.file)
        _audit_attachment(actor, follow_up, att, att.pk, added=True)
    return att


@service
def attachment_delete(*, actor: Actor, attachment: Attachment) -> None:
    """Delete a file of a follow-up (a customer's own files: ``customer_attachment_delete``). The
    acting user must be allowed to change the follow-up; audited on the follow-up; the stored
    bytes go after commit unless another attachment row still points at them."""
    if attachment.follow_up_id is None:
        raise ValidationError({"file": [_("This file belongs to the customer; remove it on its Files tab.")]})
    follow_up = FollowUp.objects.unrestricted().get(pk=attachment.follow_up_id)
    _require_change(actor, follow_up)
    with transaction.atomic():
        row = Attachment.objects.select_for_update().filter(pk=attachment.pk, follow_up=follow_up).first()
        if row is None:
            raise NotFoundError(_("Not found."))
        _remove_attachment(row)
        _audit_attachment(actor, follow_up, row, attachment.pk, added=False)


# --- customer addresses and files (the customer page's Addresses and Files tabs) -------------


def _require_change(actor: Actor, obj: Customer | FollowUp) -> None:
    """The acting user may change this customer (or follow-up): function permission and data
    scope, as the API's PATCH; system actors may. Out of scope is "not found", never
    "forbidden"."""
    user = actor_user(actor)
    if user is None:
        return
    if not has_perm(user, obj.object_type, "change"):
        raise PermissionDeniedError()
    if not scoped(user, type(obj), "change").filter(pk=obj.pk).exists():
        raise NotFoundError(_("Not found."))


def address_summary(address: CustomerAddress) -> str:
    """One readable line for the audit trail: kind, region, line, postal code, "primary"."""
    from huoban.platform.records.regions import region_label

    parts = [str(address.get_kind_display())]
    if address.region:
        parts.append(region_label(address.region))
    parts.append(address.line)
    if address.postal_code:
        parts.append(address.postal_code)
    text = " · ".join(p for p in parts if p)
    return _("%(address)s (primary)") % {"address": text} if address.is_primary else text


def address_summaries(customer: Customer) -> list[str]:
    return [address_summary(a) for a in CustomerAddress.objects.filter(customer=customer)]


def _mirror_primary(customer: Customer) -> dict[str, list[Any]]:
    """Exactly one primary address when there are any (the oldest, if none is marked); the
    customer's ``address`` is the primary line. Returns the change of ``address``, if any."""
    rows = list(CustomerAddress.objects.filter(customer=customer).order_by("id"))
    primaries = [a for a in rows if a.is_primary]
    keep = primaries[0] if primaries else (rows[0] if rows else None)
    for a in rows:
        if a.is_primary != (a is keep):
            a.is_primary = a is keep
            a.save(update_fields=["is_primary"])
    line = keep.line if keep is not None else ""
    if customer.address != line:
        change = [customer.address, line]
        customer.address = line
        return {"address": change}
    return {}


def _addresses_written(
    actor: Actor,
    customer: Customer,
    before: str | None,
    after: str | None,
    extra: Any = None,
    *,
    bump: bool = True,
) -> Customer:
    """After a write to a customer's addresses, inside its transaction (``customer`` locked):
    one primary, the mirrored ``address``, version +1 (unless the same update already counted
    it: ``bump=False``), one audit event, ``customer.updated``."""
    changes: dict[str, list[Any]] = {"addresses": [before or None, after or None]}
    changes.update(_mirror_primary(customer))
    Customer.objects.filter(pk=customer.pk).update(address=customer.address)
    if bump:
        bump_version(customer, actor)
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=customer, changes=changes, data=extra or {})
    emit("customer.updated", actor=actor, id=customer.pk, changes=list(changes))
    return customer


ADDRESS_FIELDS = ("kind", "region", "line", "postal_code", "is_primary")


def _address_input(data: dict[str, Any], current: CustomerAddress | None = None) -> dict[str, Any]:
    """Cleaned address input; for a change (``current``) only the keys given are checked and the
    others keep their stored values."""
    if current is None:
        cleaned, errors = clean_address(data)
        _raise(errors)
        return {"region": "", "postal_code": "", **cleaned}
    given = {k: v for k, v in data.items() if k in ADDRESS_FIELDS}
    if "postal_code" in given and "region" not in given:
        given["region"] = current.region  # the postal code is checked against the region
    cleaned, errors = clean_address(given, partial=True)
    _raise(errors)
    return {**{k: getattr(current, k) for k in ADDRESS_FIELDS}, **cleaned}


def _writable_customer(customer: Customer, version: int | None) -> Customer:
    """The customer row, locked, version-checked; merged or deleted ones are not found."""
    current = lock_for_write(customer, version)
    if current.deleted_at is not None or current.merged_into_id is not None:
        raise NotFoundError(_("Not found."))
    return current


@service
def customer_address_add(
    *, actor: Actor, customer: Customer, data: dict[str, Any], version: int | None = None
) -> CustomerAddress:
    """Add an address (``line`` required; ``kind``, ``region``, ``postal_code``, ``is_primary``).
    The first address is the primary one; a new primary one demotes the old."""
    _require_change(actor, customer)
    cleaned = _address_input(data)
    with transaction.atomic():
        current = _writable_customer(customer, version)
        first = not CustomerAddress.objects.filter(customer=current).exists()
        primary = bool(cleaned.get("is_primary")) or first
        if primary:
            CustomerAddress.objects.filter(customer=current, is_primary=True).update(is_primary=False)
        address = CustomerAddress.objects.create(
            customer=current,
            kind=cleaned["kind"],
            region=cleaned["region"],
            line=cleaned["line"],
            postal_code=cleaned["postal_code"],
            is_primary=primary,
        )
        _addresses_written(actor, current, None, address_summary(address), {"address_id": address.pk})
    return address


@service
def customer_address_update(
    *, actor: Actor, address: CustomerAddress, data: dict[str, Any], version: int | None = None
) -> CustomerAddress:
    """Change an address. ``is_primary: true`` makes it the primary one; the primary address
    stops being primary only by making another one primary."""
    _require_change(actor, address.customer)
    cleaned = _address_input(data, current=address)
    with transaction.atomic():
        current = _writable_customer(address.customer, version)
        row = CustomerAddress.objects.select_for_update().filter(pk=address.pk, customer=current).first()
        if row is None:
            raise NotFoundError(_("Not found."))
        before = address_summary(row)
        if row.is_primary and not cleaned["is_primary"]:
            if CustomerAddress.objects.filter(customer=current).exclude(pk=row.pk).exists():
                raise ValidationError(
                    {"is_primary": [_("To change the primary address, make another address primary.")]}
                )
            cleaned["is_primary"] = True  # the only address stays the primary one
        if cleaned["is_primary"] and not row.is_primary:
            CustomerAddress.objects.filter(customer=current, is_primary=True).update(is_primary=False)
        for k in ADDRESS_FIELDS:
            setattr(row, k, cleaned[k])
        row.save()
        after = address_summary(row)
        if before != after:
            _addresses_written(actor, current, before, after, {"address_id": row.pk})
    return row


@service
def customer_address_make_primary(
    *, actor: Actor, address: CustomerAddress, version: int | None = None
) -> CustomerAddress:
    """Make this the customer's primary address (the previous primary one stays, not primary)."""
    return customer_address_update(actor=actor, address=address, data={"is_primary": True}, version=version)


@service
def customer_address_delete(*, actor: Actor, address: CustomerAddress, version: int | None = None) -> None:
    """Delete an address; when it was the primary one, the oldest remaining address takes over."""
    _require_change(actor, address.customer)
    with transaction.atomic():
        current = _writable_customer(address.customer, version)
        row = CustomerAddress.objects.select_for_update().filter(pk=address.pk, customer=current).first()
        if row is None:
            raise NotFoundError(_("Not found."))
        before = address_summary(row)
        row.delete()
        _addresses_written(actor, current, before, None, {"address_id": address.pk})


@service
def customer_attachment_add(*, actor: Actor, customer: Customer, file: Any, name: str = "") -> Attachment:
    """Attach a file to a customer: checked (``check_upload``: at most ``MAX_ATTACHMENT_BYTES``,
    no programs, scripts or web pages), stored under ``MEDIA_ROOT/attachments/``, audited on the
    customer."""
    _require_change(actor, customer)
    upload = check_upload(file, name=name, max_bytes=MAX_ATTACHMENT_BYTES)
    with _forget_stored_on_failure() as stored, transaction.atomic():
        current = _writable_customer(customer, None)
        att = _store_attachment(actor=actor, file=file, upload=upload, customer=current)
        stored.append(att.file)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=current,
            changes={"attachments": [None, upload.name]},
            data={"attachment_id": att.pk, "size": upload.size},
        )
    return att


@service
def customer_attachment_delete(*, actor: Actor, attachment: Attachment) -> None:
    """Delete a file attached to the customer itself (a follow-up's files belong to the
    follow-up). The stored bytes go too, unless another attachment row still points at them
    (files linked from a converted lead stay with the lead)."""
    if attachment.customer_id is None or attachment.follow_up_id is not None:
        raise ValidationError({"file": [_("This file belongs to a follow-up; it can be removed there.")]})
    customer = Customer.objects.unrestricted().get(pk=attachment.customer_id)
    _require_change(actor, customer)
    with transaction.atomic():
        current = _writable_customer(customer, None)
        row = Attachment.objects.select_for_update().filter(pk=attachment.pk, customer=current).first()
        if row is None:
            raise NotFoundError(_("Not found."))
        _remove_attachment(row)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=current,
            changes={"attachments": [row.name, None]},
            data={"attachment_id": attachment.pk, "size": row.size},
        )
