"""Assignment rules: which rule matches a lead, and which user of the rule gets it.

Rules are tried by ascending ``priority`` (then id); the first rule that matches *and* can name an
available user wins. A user is available when active and not absent (``User.absent_until``);
within a unit the strategy is round robin (a pointer stored on the rule, advanced under a row
lock) or least loaded (fewest open leads, one aggregate query). When no rule yields a user the
lead goes to the fallback user, else stays in the fallback queue (no owner, the fallback unit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from huoban.platform.access.scoping import has_perm
from huoban.platform.identity.models import OrgUnit, User

from . import integration
from .models import OPEN_STATUSES, AssignmentRule, AssignmentStrategy, Lead, LeadSettings

CONDITION_KEYS = ("region", "company_size", "urgency", "source", "industry", "min_score")


@dataclass
class Decision:
    user: Any = None
    unit: Any = None
    rule: AssignmentRule | None = None
    reason: str = ""  # "rule" | "fallback_user" | "queue" | "kept"


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    cond = rule.conditions or {}
    for key in ("company_size", "urgency", "source", "industry"):
        wanted = cond.get(key) or []
        if wanted and getattr(lead, key) not in wanted:
            return False
    regions = cond.get("region") or []
    if regions and not any(integration.region_covers(str(r), lead.region) for r in regions):
        return False
    min_score = cond.get("min_score")
    if min_score not in (None, "") and lead.score < int(min_score):
        return False
    return True


def is_available(user: Any, now: dt.datetime) -> bool:
    if user is None or not user.is_active or getattr(user, "is_system", False):
        return False
    return not (user.absent_until and user.absent_until > now)


def unit_members(unit: OrgUnit, now: dt.datetime) -> list[User]:
    """Available users of the unit and the units below it who may work on leads."""
    units = OrgUnit.subtree_ids([unit])
    users = (
        User.objects.filter(primary_unit_id__in=list(units), is_active=True, is_system=False)
        .filter(Q(absent_until__isnull=True) | Q(absent_until__lte=now))
        .select_related("primary_unit")
        .prefetch_related("roles")
        .order_by("pk")
    )
    return [u for u in users if has_perm(u, "lead", "view")]


def _round_robin(rule: AssignmentRule, members: list[User]) -> User:
    last = rule.last_assigned_user_id or 0
    for u in members:
        if u.pk > last:
            return u
    return members[0]


def _least_loaded(members: list[User]) -> User:
    loads = dict(
        Lead.objects.unrestricted()
        .filter(owner_id__in=[m.pk for m in members], status__in=OPEN_STATUSES, deleted_at__isnull=True)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return min(members, key=lambda m: (loads.get(m.pk, 0), m.pk))


def pick_user(rule: AssignmentRule, now: dt.datetime) -> Any:
    if rule.assign_to_user_id:
        return rule.assign_to_user if is_available(rule.assign_to_user, now) else None
    if rule.assign_to_unit_id:
        members = unit_members(rule.assign_to_unit, now)
        if not members:
            return None
        if rule.strategy == AssignmentStrategy.LEAST_LOADED:
            return _least_loaded(members)
        user = _round_robin(rule, members)
        AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned_user=user)
        rule.last_assigned_user = user
        return user
    return None


def decide(
    lead: Lead, *, rules: list[AssignmentRule] | None = None, now: dt.datetime | None = None
) -> Decision:
    """Run the rules for one lead (call inside a transaction: round robin locks the rule row)."""
    now = now or timezone.now()
    if rules is None:
        rules = list(
            AssignmentRule.objects.select_for_update(of=("self",))
            .filter(active=True)
            .select_related("assign_to_user", "assign_to_unit")
            .order_by("priority", "id")
        )
    for rule in rules:
        if not rule_matches(rule, lead):
            continue
        user = pick_user(rule, now)
        if user is not None:
            return Decision(user=user, unit=user.primary_unit, rule=rule, reason="rule")
    if lead.owner_id and is_available(lead.owner, now):
        return Decision(user=lead.owner, unit=lead.owner_unit, reason="kept")
    settings = LeadSettings.load()
    if settings.fallback_user_id and is_available(settings.fallback_user, now):
        return Decision(
            user=settings.fallback_user, unit=settings.fallback_user.primary_unit, reason="fallback_user"
        )
    return Decision(user=None, unit=settings.fallback_unit, reason="queue")
