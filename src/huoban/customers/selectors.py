"""Reads used by the API and the pages; every one starts from ``scoped(user, …)``."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q, QuerySet

from huoban.platform.access.scoping import scoped

from .models import Contact, Customer, DuplicateGroup, FollowUp, Merge


def customers(user: Any, action: str = "view") -> QuerySet:
    return scoped(user, Customer, action).select_related("owner", "created_by", "updated_by", "pool")


def contacts_of(user: Any, customer: Customer) -> QuerySet:
    return scoped(user, Contact).filter(customer_links__customer=customer).distinct()


def follow_ups_of(user: Any, customer: Customer) -> QuerySet:
    return scoped(user, FollowUp).filter(customer=customer).select_related("contact", "created_by")


def files_of(user: Any, customer: Customer) -> QuerySet:
    """The customer's own files and those of its follow-ups the user can see (Files tab, API,
    downloads)."""
    from django.db.models import Q

    from .models import Attachment

    visible = scoped(user, FollowUp).filter(customer=customer).values("pk")
    return Attachment.objects.filter(customer=customer).filter(
        Q(follow_up__isnull=True) | Q(follow_up__in=visible)
    )


def resolve_tombstone(user: Any, model: type, pk: Any) -> int | None:
    """The id a merged record now lives on, if ``user`` could see the tombstone; else None."""
    if not str(pk).isdigit():
        return None
    row = (
        scoped(user, model, include_deleted=True)
        .filter(pk=pk, merged_into__isnull=False)
        .values_list("merged_into", flat=True)
        .first()
    )
    hops = 0
    while row is not None and hops < 10:
        nxt = (
            model._base_manager.filter(pk=row, merged_into__isnull=False)
            .values_list("merged_into", flat=True)
            .first()
        )
        if nxt is None:
            return row
        row, hops = nxt, hops + 1
    return row


def duplicate_groups(user: Any, object_type: str, status: str = DuplicateGroup.Status.OPEN) -> QuerySet:
    """Groups whose every member the user may merge (so a reviewer never sees strangers' records)."""
    model = Customer if object_type == "customer" else Contact
    visible = scoped(user, model, "merge").values("pk")
    qs = DuplicateGroup.objects.filter(object_type=object_type)
    if status:
        qs = qs.filter(status=status)
    return (
        qs.annotate(
            n_members=Count("members", distinct=True),
            n_visible=Count("members", filter=Q(members__object_id__in=visible), distinct=True),
        )
        .filter(n_visible=F("n_members"))
        .order_by("-score", "-id")
    )


def merges_of(object_type: str, survivor_id: int) -> QuerySet:
    return Merge.objects.filter(object_type=object_type, survivor_id=survivor_id).order_by("-created_at")
