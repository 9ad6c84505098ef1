"""Every touch point of leads and sales with the customers app and the platform picklists, in one
place: normalisation (phones, e-mails, regions, picklists), the customers' duplicate matcher,
creating customers, contacts and follow-ups on conversion, and follow-up facts for reports.

Nothing else in ``leads`` or ``sales`` imports ``huoban.customers`` except model foreign keys, so
a change in the customers app's API is a change in this file only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

SOURCE_PICKLIST = "customer_source"  # one list of source channels for customers and leads
INDUSTRY_PICKLIST = "industry"


def customer_model() -> Any:
    return apps.get_model("customers", "Customer")


def contact_model() -> Any:
    return apps.get_model("customers", "Contact")


def follow_up_model() -> Any:
    return apps.get_model("customers", "FollowUp")


# --- normalisation ---------------------------------------------------------------------------------


def clean_phone(value: Any) -> str:
    """E.164 (China by default); "" for empty; ValueError with a user message when invalid."""
    if value in (None, "") or not str(value).strip():
        return ""
    from huoban.platform.records.contact_points import normalize_phone

    return normalize_phone(value)


def clean_email(value: Any) -> str:
    if value in (None, "") or not str(value).strip():
        return ""
    from huoban.platform.records.contact_points import normalize_email

    return normalize_email(value)


def resolve_region(value: Any) -> str:
    """A GB/T 2260 code from a code or a Chinese/English name; "" for empty; ValueError if unknown."""
    if value in (None, "") or not str(value).strip():
        return ""
    from huoban.platform.records.regions import resolve_region as resolve

    return resolve(value)


def region_label(code: str) -> str:
    if not code:
        return ""
    from huoban.platform.records.regions import region_label as label

    try:
        return label(code)
    except Exception:
        return code


def region_covers(rule_code: str, value_code: str) -> bool:
    """A province code (xx0000) covers its cities (xxyy00); a city covers its districts."""
    if not rule_code or not value_code:
        return False
    if rule_code == value_code:
        return True
    if rule_code.endswith("0000"):
        return value_code[:2] == rule_code[:2]
    if rule_code.endswith("00"):
        return value_code[:4] == rule_code[:4]
    return False


def resolve_source(value: Any) -> str:
    from huoban.platform.records.picklists import resolve_picklist

    return resolve_picklist(SOURCE_PICKLIST, value)


def resolve_industry(value: Any) -> str:
    from huoban.platform.records.picklists import resolve_picklist

    return resolve_picklist(INDUSTRY_PICKLIST, value)


def company_key(name: Any) -> str:
    """Comparable core of a company name (the customers' matcher: suffixes, regions, width…)."""
    text = str(name or "").strip()
    if not text:
        return ""
    from huoban.customers.matching import normalize_name

    return normalize_name(text)[:200]


def company_similarity(a: str, b: str) -> int:
    """0–100 similarity of two raw company names."""
    if not a or not b:
        return 0
    from huoban.customers.matching import name_score

    return int(round(name_score(a, b) * 100))


# --- duplicates across customers and contacts ----------------------------------------------------


@dataclass
class Candidate:
    object_type: str  # "lead" | "customer" | "contact"
    id: int
    name: str
    score: int  # 0–100
    reasons: list[str] = field(default_factory=list)
    owner_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            "id": self.id,
            "name": self.name,
            "score": self.score,
            "reasons": self.reasons,
        }


def customer_candidates(data: dict[str, Any], *, threshold: int = 85, limit: int = 10) -> list[Candidate]:
    """Customers that look like the lead: same phone or e-mail, or a similar company name
    (the customers' own duplicate check, so leads and customers agree on what a duplicate is)."""
    from huoban.customers.duplicates import customer_duplicate_candidates

    name = data.get("company") or ""
    phones = [data["phone"]] if data.get("phone") else []
    emails = [data["email"]] if data.get("email") else []
    if not (name or phones or emails):
        return []
    found = customer_duplicate_candidates(name=name, phones=phones, emails=emails, threshold=0.5, limit=limit)
    # a shared phone or e-mail is enough for a lead (it often has no company name yet)
    found = [
        c
        for c in found
        if float(c["score"]) * 100 >= threshold or {"phone", "email", "uscc"} & set(c.get("reasons") or [])
    ]
    if not found:
        return []
    owners = dict(
        customer_model()
        .objects.unrestricted()
        .filter(pk__in=[c["id"] for c in found])
        .values_list("pk", "owner_id")
    )
    return [
        Candidate(
            "customer",
            c["id"],
            c["name"],
            int(round(float(c["score"]) * 100)),
            list(c.get("reasons") or []),
            owners.get(c["id"]),
        )
        for c in found
    ]


def contact_candidates(data: dict[str, Any], *, limit: int = 10) -> list[Candidate]:
    """Contacts with the same mobile/phone or e-mail."""
    from django.db.models import Q

    phone, email = data.get("phone") or "", data.get("email") or ""
    q = Q()
    if phone:
        q |= Q(mobile=phone) | Q(phone=phone)
    if email:
        q |= Q(email__iexact=email)
    if not q:
        return []
    rows = (
        contact_model()
        .objects.unrestricted()
        .filter(q, deleted_at__isnull=True)
        .values("pk", "name", "mobile", "phone", "email", "owner_id")[:limit]
    )
    out = []
    for r in rows:
        reasons = []
        if phone and phone in (r["mobile"], r["phone"]):
            reasons.append("phone")
        if email and (r["email"] or "").lower() == email.lower():
            reasons.append("email")
        out.append(Candidate("contact", r["pk"], r["name"], 100, reasons, r["owner_id"]))
    return out


def contact_customer_id(contact_id: int) -> int | None:
    return (
        contact_model()
        .objects.unrestricted()
        .filter(pk=contact_id)
        .values_list("customer_id", flat=True)
        .first()
    )


def alive_customer(pk: Any) -> Any:
    if not pk:
        return None
    return customer_model().objects.unrestricted().filter(pk=pk, deleted_at__isnull=True).first()


# --- conversion: customers, contacts, follow-ups, attachments -------------------------------------


def create_customer(
    *, actor: Any, data: dict[str, Any], owner: Any = None, custom_fields: dict[str, Any] | None = None
) -> Any:
    """Create a customer through the customers' own service (validation, numbering, dedup, audit).
    The lead's dedup already ran, so likely duplicates are confirmed."""
    from huoban.customers.services import customer_create

    clean = {k: v for k, v in data.items() if v not in (None, "")}
    if owner is not None:
        clean["owner"] = owner
    return customer_create(
        actor=actor, data=clean, custom_fields=custom_fields or None, confirm_duplicate=True
    )


def carry_custom_fields(values: dict[str, Any], object_type: str) -> dict[str, Any]:
    """The custom field values whose key also exists (active) on ``object_type``."""
    if not values:
        return {}
    from huoban.platform.records.custom_fields import definitions

    keys = {d.key for d in definitions(object_type)}
    return {k: v for k, v in values.items() if k in keys}


def create_contact(*, actor: Any, customer: Any, data: dict[str, Any], owner: Any = None) -> Any:
    from huoban.customers.services import contact_create

    clean = {k: v for k, v in data.items() if v not in (None, "")}
    phone = clean.pop("phone", "")
    if phone:
        from huoban.platform.records.contact_points import phone_kind

        clean["mobile" if phone_kind(phone) == "mobile" else "phone"] = phone
    clean["customer"] = customer.pk
    if owner is not None:
        clean["owner"] = owner
    return contact_create(actor=actor, data=clean, confirm_duplicate=True)


FOLLOW_UP_TYPES = {"call", "visit", "meeting", "email", "wechat", "note"}


def copy_follow_up(*, actor: Any, customer: Any, contact: Any, entry: dict[str, Any]) -> Any:
    """Record one of the lead's follow-ups on the customer (and contact) it became."""
    from huoban.customers.services import follow_up_create

    kind = entry.get("type") if entry.get("type") in FOLLOW_UP_TYPES else "note"
    data = {
        "type": kind,
        "occurred_at": entry.get("at"),
        "content": entry.get("content") or "",
        "outcome": entry.get("outcome") or "",
    }
    if not data["content"] and not data["outcome"]:
        data["content"] = "—"
    return follow_up_create(actor=actor, customer=customer, contact=contact, data=data)


def copy_attachment(*, actor: Any, customer: Any, att: Any) -> Any:
    """The customer gets an attachment row pointing at the same stored file."""
    from huoban.customers.services import attachment_link

    return attachment_link(actor=actor, customer=customer, source=att)


# --- follow-up facts --------------------------------------------------------------------------------

FOLLOW_UP_EVENTS = ("follow_up.created",)
WON_WORDS = {"won", "成交", "已成交", "赢单", "closed won", "closed_won"}


def is_won(*values: Any) -> bool:
    return any(str(v or "").strip().lower() in WON_WORDS for v in values)


def follow_up_info(follow_up_id: Any) -> dict[str, Any] | None:
    """{"customer_id", "outcome", "type", "at"} of a customers follow-up, or None."""
    if not follow_up_id:
        return None
    fu = follow_up_model().objects.unrestricted().filter(pk=follow_up_id).first()
    if fu is None:
        return None
    return {"customer_id": fu.customer_id, "outcome": fu.outcome, "type": fu.type, "at": fu.occurred_at}


def follow_up_counts(start: Any, end: Any, group: str) -> dict[Any, int]:
    """Follow-ups logged in [start, end) grouped by ``owner`` or ``owner_unit``."""
    from django.db.models import Count

    qs = (
        follow_up_model()
        .objects.unrestricted()
        .filter(occurred_at__gte=start, occurred_at__lt=end, deleted_at__isnull=True)
    )
    return {r[group]: r["n"] for r in qs.values(group).annotate(n=Count("id")).order_by()}
