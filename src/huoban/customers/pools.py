"""Public pools (公海): release, claim, automatic release of customers without follow-up.

A pool customer has no owner (``owner`` is empty, ``pool`` is set) and keeps the owner unit of
its pool, so managers still see it in their unit-tree lists. Reps see a pool through the pool
endpoints: the pool list uses pool membership, not the owner scope. A pool belongs to a unit (or
to the whole company); a rep sees the pools of their unit and of the units above it.

Rules per pool: release after N days without follow-up, maximum customers a rep may own, and a
cool-down before a rep may claim again a customer they released. Every move is a ``PoolMove``
row and an audit event (``claim`` / ``release``); the previous owner is notified.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.platform.access.scoping import grants_for, has_perm, service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log_many
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, SystemActor, actor_name, actor_user
from huoban.platform.identity.models import OrgUnit, Scope
from huoban.platform.notifications.services import notify

from .models import Customer, CustomerPool, PoolMove
from .services import cascade_owner

POOL = "customer_pool"


# --- which pools a user sees ----------------------------------------------------------------


def _ancestor_ids(unit_ids: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for path in OrgUnit.objects.filter(pk__in=list(unit_ids)).values_list("path", flat=True):
        out.update(int(p) for p in path.strip("/").split("/") if p)
    return out


def visible_pools(user: Any) -> Any:
    """Pools a user may look into: their unit's and every unit above (scope ``unit``), plus the
    units below for ``unit_tree``, every pool for ``all``; company-wide pools for everyone."""
    grants = grants_for(user)
    if not grants.can(POOL, "view"):
        return CustomerPool.objects.none()
    scope = grants.scope(POOL)
    if scope == Scope.ALL:
        return CustomerPool.objects.all()
    units = set(grants.unit_ids)
    if getattr(user, "primary_unit_id", None):
        units.add(user.primary_unit_id)
    allowed = _ancestor_ids(list(units))
    if scope == Scope.UNIT_TREE:
        allowed |= set(grants.tree_unit_ids)
    return CustomerPool.objects.filter(Q(unit__isnull=True) | Q(unit_id__in=allowed))


def pool_for_unit(unit_id: int | None) -> CustomerPool | None:
    """The nearest active pool of a unit (its own, else the closest unit above, else company-wide)."""
    pools = list(CustomerPool.objects.filter(active=True))
    if not pools:
        return None
    if unit_id:
        unit = OrgUnit.objects.filter(pk=unit_id).first()
        chain = [int(p) for p in unit.path.strip("/").split("/") if p] if unit else []
        by_unit = {p.unit_id: p for p in pools if p.unit_id is not None}
        for uid in reversed(chain):
            if uid in by_unit:
                return by_unit[uid]
    return next((p for p in pools if p.unit_id is None), None)


# --- release ---------------------------------------------------------------------------------


def _notify_previous(previous: Any, actor: Actor, customer: Customer, verb: str, title: str) -> None:
    user = actor_user(actor)
    if previous is None or (user is not None and previous.pk == user.pk):
        return
    notify(
        recipient=previous,
        verb=verb,
        title=title,
        title_args={"customer": customer.name, "actor": str(user) if user else _("the system")},
        url=f"/customers/{customer.pk}/",
        data={"customer": customer.pk},
    )


@service
def customer_release(
    *,
    actor: Actor,
    customers: Sequence[Customer],
    pool: CustomerPool | None = None,
    reason: str = "",
    automatic: bool = False,
) -> int:
    """Move customers into a pool (their owner's pool unless ``pool`` is given)."""
    now = timezone.now()
    user = actor_user(actor)
    entries: list[Entry] = []
    moves: list[PoolMove] = []
    with transaction.atomic():
        locked = list(
            Customer.objects.unrestricted()
            .select_for_update(of=("self",))
            .filter(pk__in=[c.pk for c in customers], deleted_at__isnull=True)
            .select_related("owner")
            .order_by("pk")
        )
        nearest: dict[int | None, CustomerPool | None] = {}
        targets: dict[tuple[int, int | None], tuple[CustomerPool, list[Customer]]] = {}
        for c in locked:
            if c.pool_id is not None:
                continue
            if pool is None and c.owner_unit_id not in nearest:
                nearest[c.owner_unit_id] = pool_for_unit(c.owner_unit_id)
            target = pool or nearest[c.owner_unit_id]
            if target is None:
                raise ValidationError({"pool": [_("There is no public pool for this customer's unit.")]})
            if not target.active:
                raise ValidationError({"pool": [_("This pool is closed.")]})
            targets.setdefault((target.pk, target.unit_id or c.owner_unit_id), (target, []))[1].append(c)
        from huoban.activities.models import Task

        # one set of updates per (pool, unit), not per customer
        for (_pool_id, unit_id), (target, members) in targets.items():
            ids = [c.pk for c in members]
            Customer.objects.filter(pk__in=ids).update(
                owner=None,
                owner_unit_id=unit_id,
                pool=target,
                pooled_at=now,
                version=F("version") + 1,
                updated_at=now,
                updated_by=user,
            )
            cascade_owner(ids, None, unit_id)
            Task.objects.filter(customer_id__in=ids, status=Task.Status.OPEN, deleted_at__isnull=True).update(
                status=Task.Status.DONE, completed_at=now, version=F("version") + 1
            )
            for c in members:
                moves.append(
                    PoolMove(
                        customer=c,
                        pool=target,
                        action=PoolMove.Action.AUTO_RELEASE if automatic else PoolMove.Action.RELEASE,
                        user=c.owner,
                        actor_name=actor_name(actor),
                        reason=reason[:300],
                        at=now,
                    )
                )
                entries.append(
                    Entry(
                        AuditAction.RELEASE,
                        "customer",
                        c.pk,
                        c.name,
                        {"owner": [c.owner_id, None], "pool": [None, target.pk]},
                        {"pool": target.pk, "automatic": automatic, "reason": reason},
                    )
                )
                _notify_previous(
                    c.owner,
                    actor,
                    c,
                    "customer.released",
                    gettext_noop("%(customer)s was moved to the public pool by %(actor)s"),
                )
                emit("customer.released", actor=actor, id=c.pk, pool=target.pk, previous=c.owner_id)
        PoolMove.objects.bulk_create(moves)
        audit_log_many(actor=actor, entries=entries)
    return len(moves)


# --- claim -----------------------------------------------------------------------------------


def with_customer_counts(pools: QuerySet) -> QuerySet:
    """Pools annotated with ``customer_count`` (customers in them now), in the same query."""
    return pools.annotate(customer_count=Count("customers", filter=Q(customers__deleted_at__isnull=True)))


def owned_count(user: Any) -> int:
    return (
        Customer.objects.unrestricted()
        .filter(owner=user, deleted_at__isnull=True, merged_into__isnull=True)
        .count()
    )


@service
def pool_claim(*, actor: Any, pool: CustomerPool, customer_ids: Sequence[int]) -> list[int]:
    """A rep takes customers out of a pool: maximum per rep and cool-down are enforced."""
    user = actor_user(actor)
    if user is None:
        raise PermissionDeniedError()
    if not pool.active:
        raise ValidationError({"pool": [_("This pool is closed.")]})
    if not visible_pools(user).filter(pk=pool.pk).exists():
        from django.http import Http404

        raise Http404("pool")
    if not has_perm(user, "customer", "view"):
        raise PermissionDeniedError()
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    if not ids:
        raise ValidationError({"customers": [_("Choose at least one customer.")]})
    now = timezone.now()
    with transaction.atomic():
        # lock the claimant's row so two claims by the same rep cannot both pass the maximum
        from huoban.platform.identity.models import User

        User.objects.select_for_update().filter(pk=user.pk).first()
        locked = {
            c.pk: c
            for c in Customer.objects.unrestricted()
            .select_for_update()
            .filter(pk__in=ids, deleted_at__isnull=True)
            .order_by("pk")
        }
        errors: list[str] = []
        not_in_pool = [i for i in ids if i not in locked or locked[i].pool_id != pool.pk]
        if not_in_pool:
            errors.append(
                _("Not in this pool (any more): %(ids)s") % {"ids": ", ".join(map(str, not_in_pool))}
            )
        if pool.claim_cooldown_days:
            since = now - dt.timedelta(days=pool.claim_cooldown_days)
            cooling = sorted(
                set(
                    PoolMove.objects.filter(
                        customer_id__in=ids,
                        user=user,
                        action__in=[PoolMove.Action.RELEASE, PoolMove.Action.AUTO_RELEASE],
                        at__gte=since,
                    ).values_list("customer_id", flat=True)
                )
            )
            if cooling:
                names = ", ".join(locked[i].name for i in cooling if i in locked)
                errors.append(
                    _("You released %(names)s less than %(days)d days ago; claim it again later.")
                    % {"names": names, "days": pool.claim_cooldown_days}
                )
        if pool.max_owned_per_rep is not None:
            have = owned_count(user)
            if have + len(ids) > pool.max_owned_per_rep:
                errors.append(
                    _("You own %(have)d customers; this pool allows at most %(max)d per rep.")
                    % {"have": have, "max": pool.max_owned_per_rep}
                )
        if errors:
            raise ValidationError({"customers": errors})
        previous_owner: dict[int, Any] = {}
        last = PoolMove.objects.filter(
            customer_id__in=ids, action__in=[PoolMove.Action.RELEASE, PoolMove.Action.AUTO_RELEASE]
        ).order_by("customer_id", "-at", "-id")
        for m in last.select_related("user"):
            previous_owner.setdefault(m.customer_id, m.user)
        entries = []
        moves = []
        Customer.objects.filter(pk__in=ids).update(
            owner=user,
            owner_unit_id=user.primary_unit_id,
            pool=None,
            pooled_at=None,
            version=F("version") + 1,
            updated_at=now,
            updated_by=user,
        )
        cascade_owner(ids, user, user.primary_unit_id, previous=None)
        for i in ids:
            c = locked[i]
            moves.append(
                PoolMove(
                    customer=c,
                    pool=pool,
                    action=PoolMove.Action.CLAIM,
                    user=user,
                    actor_name=actor_name(actor),
                    at=now,
                )
            )
            entries.append(
                Entry(
                    AuditAction.CLAIM,
                    "customer",
                    i,
                    c.name,
                    {"owner": [None, user.pk], "pool": [pool.pk, None]},
                    {"pool": pool.pk},
                )
            )
            prev = previous_owner.get(i)
            if prev is not None and prev.pk != user.pk:
                notify(
                    recipient=prev,
                    verb="customer.claimed",
                    title=gettext_noop("%(customer)s, which you released, was claimed by %(actor)s"),
                    title_args={"customer": c.name, "actor": str(user)},
                    url=f"/customers/{i}/",
                    data={"customer": i},
                )
            emit("customer.claimed", actor=actor, id=i, pool=pool.pk, owner=user.pk)
        PoolMove.objects.bulk_create(moves)
        audit_log_many(actor=actor, entries=entries)
    return ids


# --- automatic release (periodic job) ---------------------------------------------------------


@service
def pool_release_stale(*, now: dt.datetime | None = None, limit: int = 5000) -> dict[int, int]:
    """Move customers without a follow-up for N days (per pool) into their pool."""
    now = now or timezone.now()
    actor = SystemActor("pool")
    out: dict[int, int] = {}
    pools = list(CustomerPool.objects.filter(active=True, release_after_days__isnull=False))
    if not pools:
        return out
    for pool in pools:
        cutoff = now - dt.timedelta(days=pool.release_after_days or 0)
        qs = (
            Customer.objects.unrestricted()
            .filter(deleted_at__isnull=True, pool__isnull=True, owner__isnull=False)
            .annotate(_last=Coalesce("last_contacted_at", "created_at"))
            .filter(_last__lt=cutoff)
        )
        if pool.lifecycle_stages:
            qs = qs.filter(lifecycle_stage__in=pool.lifecycle_stages)
        if pool.unit_id is not None:
            unit = pool.unit
            qs = qs.filter(owner_unit__path__startswith=unit.path)
        candidates = list(qs.order_by("pk")[:limit])
        # only customers for which this is the nearest pool
        nearest: dict[int | None, int | None] = {}
        for c in candidates:
            if c.owner_unit_id not in nearest:
                p = pool_for_unit(c.owner_unit_id)
                nearest[c.owner_unit_id] = p.pk if p else None
        mine = [c for c in candidates if nearest[c.owner_unit_id] == pool.pk]
        if mine:
            out[pool.pk] = customer_release(
                actor=actor,
                customers=mine,
                pool=pool,
                reason=_("No follow-up for %(days)d days") % {"days": pool.release_after_days},
                automatic=True,
            )
    return out
