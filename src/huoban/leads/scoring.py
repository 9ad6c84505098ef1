"""Lead scoring: administrator rules (field conditions and activity events) → score + breakdown."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from . import conditions
from .models import Lead, LeadActivity, ScoringRule

INACTIVE_DAYS = "inactive_days"  # pseudo-event: no activity for `value` days


def active_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(active=True).order_by("position", "id"))


def _event_applies(
    rule: ScoringRule, counts: dict[str, int], last_activity: dt.datetime | None, created: dt.datetime, now
) -> bool:
    if rule.event == INACTIVE_DAYS:
        try:
            days = int(rule.value or 0)
        except (TypeError, ValueError):
            return False
        since = last_activity or created
        return since is not None and (now - since) >= dt.timedelta(days=days)
    n = counts.get(rule.event, 0)
    if rule.operator == "gte" and rule.value not in (None, ""):
        try:
            return n >= int(rule.value)
        except (TypeError, ValueError):
            return False
    if rule.operator == "lte" and rule.value not in (None, ""):
        try:
            return n <= int(rule.value)
        except (TypeError, ValueError):
            return False
    return n > 0


def compute(
    lead: Lead,
    rules: Sequence[ScoringRule],
    counts: dict[str, int] | None = None,
    last_activity: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    now = now or timezone.now()
    counts = counts or {}
    total = 0
    breakdown: list[dict[str, Any]] = []
    for rule in rules:
        if rule.event:
            ok = _event_applies(rule, counts, last_activity or lead.last_activity_at, lead.created_at, now)
            kind = "event"
        else:
            actual = conditions.lead_value(lead, rule.field)
            ok = conditions.evaluate(rule.field, rule.operator, rule.value, actual)
            kind = "field"
        if ok:
            total += rule.points
            breakdown.append(
                {
                    "rule": rule.pk,
                    "name": rule.name,
                    "kind": kind,
                    "field": rule.field,
                    "event": rule.event,
                    "points": rule.points,
                }
            )
    return total, breakdown


def activity_stats(lead_ids: Iterable[int]) -> tuple[dict[int, dict[str, int]], dict[int, dt.datetime]]:
    ids = list(lead_ids)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    last: dict[int, dt.datetime] = {}
    if not ids:
        return counts, last
    rows = (
        LeadActivity.objects.filter(lead_id__in=ids)
        .values("lead_id", "event")
        .annotate(n=Count("id"), at=Max("at"))
    )
    for row in rows:
        counts[row["lead_id"]][row["event"]] = row["n"]
        if row["at"] and (row["lead_id"] not in last or row["at"] > last[row["lead_id"]]):
            last[row["lead_id"]] = row["at"]
    return counts, last


def rescore(lead_ids: Iterable[int], rules: Sequence[ScoringRule] | None = None, batch: int = 500) -> int:
    """Recompute and store score + breakdown; returns how many leads changed. Batched, bounded."""
    rules = active_rules() if rules is None else rules
    ids = list(lead_ids)
    changed = 0
    now = timezone.now()
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        leads = list(Lead.objects.unrestricted().filter(pk__in=chunk).prefetch_related("tagged_items__tag"))
        counts, last = activity_stats(chunk)
        dirty = []
        for lead in leads:
            score, breakdown = compute(lead, rules, counts.get(lead.pk), last.get(lead.pk), now)
            if score != lead.score or breakdown != lead.score_breakdown:
                lead.score, lead.score_breakdown = score, breakdown
                dirty.append(lead)
        if dirty:
            Lead.objects.bulk_update(dirty, ["score", "score_breakdown"])
            changed += len(dirty)
    return changed


def rescore_all(batch: int = 1000) -> int:
    """Every open lead (rules changed, or time-based rules on the daily run)."""
    from .models import OPEN_STATUSES

    rules = active_rules()
    changed = 0
    last_id = 0
    while True:
        ids = list(
            Lead.objects.unrestricted()
            .filter(pk__gt=last_id, status__in=OPEN_STATUSES, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return changed
        changed += rescore(ids, rules)
        last_id = ids[-1]
