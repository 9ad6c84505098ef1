"""Reads used by the sales API and pages (all starting from the user's scope)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from huoban.platform.access.scoping import grants_for, has_perm
from huoban.platform.identity.models import Scope

from .models import SalesReport


def visible_reports(user: Any) -> QuerySet[SalesReport]:
    """Stored sales reports follow the opportunity scope: own reports; with unit / unit-tree scope
    also the reports of the units (and their reps) in that scope; everything with scope all."""
    if not has_perm(user, "report", "view"):
        return SalesReport.objects.none()
    grants = grants_for(user)
    scope = grants.scope("opportunity")
    if grants.is_admin or scope == Scope.ALL:
        return SalesReport.objects.all()
    q = Q(user_id=user.pk)
    units = (
        grants.tree_unit_ids if scope == Scope.UNIT_TREE else grants.unit_ids if scope == Scope.UNIT else []
    )
    if units:
        q |= Q(unit_id__in=units) | Q(user__primary_unit_id__in=units)
    return SalesReport.objects.filter(q)
