"""Duplicate detection on entry: the same phone or email, or a similar company name, among leads,
contacts and customers (the customers' matcher decides for customers when it exists)."""

from __future__ import annotations

from typing import Any

from . import integration
from .integration import Candidate
from .models import Lead


def lead_candidates(
    data: dict[str, Any], *, exclude: int | None = None, threshold: int = 85, limit: int = 10
) -> list[Candidate]:
    qs = Lead.objects.unrestricted().filter(deleted_at__isnull=True)
    if exclude:
        qs = qs.exclude(pk=exclude)
    out: dict[int, Candidate] = {}

    def add(lead: Lead, score: int, reason: str) -> None:
        c = out.setdefault(lead.pk, Candidate("lead", lead.pk, str(lead), score, [], lead.owner_id))
        c.score = max(c.score, score)
        if reason not in c.reasons:
            c.reasons.append(reason)

    fields = ("pk", "name", "company", "number", "owner_id", "company_key")
    if data.get("phone"):
        for lead in qs.filter(phone=data["phone"]).only(*fields)[:limit]:
            add(lead, 100, "phone")
    if data.get("email"):
        for lead in qs.filter(email__iexact=data["email"]).only(*fields)[:limit]:
            add(lead, 100, "email")
    company = data.get("company") or ""
    key = data.get("company_key") or integration.company_key(company)
    if len(key) >= 2:
        for lead in qs.filter(company_key=key).only(*fields)[:limit]:
            add(lead, 100, "name")
        # similar names: block on the first characters of the key, score the few candidates
        if len(out) < limit:
            for lead in (
                qs.filter(company_key__startswith=key[:2]).exclude(company_key=key).only(*fields)[:200]
            ):
                score = integration.company_similarity(company or key, lead.company or lead.company_key)
                if score >= threshold:
                    add(lead, score, "similar_name")
    return sorted(out.values(), key=lambda c: (-c.score, -c.id))[:limit]


def find_duplicates(
    data: dict[str, Any], *, exclude: int | None = None, threshold: int = 85, limit: int = 10
) -> list[Candidate]:
    """Leads, contacts and customers that look like ``data`` (already normalised)."""
    found = lead_candidates(data, exclude=exclude, threshold=threshold, limit=limit)
    found += integration.contact_candidates(data, limit=limit)
    if data.get("company") or data.get("phone") or data.get("email"):
        found += integration.customer_candidates(data, threshold=threshold, limit=limit)
    return found
