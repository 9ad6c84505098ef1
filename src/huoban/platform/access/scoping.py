"""The one door to business records: ``scoped(user, Model)`` and ``has_perm``.

Roles combine by union: a user gets every action any of their roles grants on an object type,
and the widest data scope among the roles that grant ``view``. Record-level rules compile into a
single query filter; a single-record check is "filter, then exists", so out-of-scope and missing
records look the same (404).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from huoban.platform.identity.models import SCOPE_RANK, Action, Scope

log = logging.getLogger("huoban.access")

WRITE_ACTIONS = {Action.CHANGE, Action.DELETE, Action.ASSIGN, Action.MERGE}
_RANK: dict[str, int] = {str(k): v for k, v in SCOPE_RANK.items()}


@dataclass
class Grants:
    is_admin: bool = False
    actions: dict[str, set[str]] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=dict)
    unit_ids: list[int] = field(default_factory=list)  # primary unit + managed units
    tree_unit_ids: list[int] = field(default_factory=list)  # those units and every unit below
    require_2fa: bool = False
    # ids shared with the user, per (model, write); valid while the share generation is unchanged
    shared: dict[tuple[type[Model], bool], tuple[int, list[int]]] = field(default_factory=dict)

    def can(self, object_type: str, action: str) -> bool:
        if self.is_admin:
            return True
        return action in self.actions.get(object_type, set()) or action in self.actions.get("*", set())

    def scope(self, object_type: str) -> str:
        if self.is_admin:
            return Scope.ALL
        return self.scopes.get(object_type) or self.scopes.get("*") or Scope.NONE


def grants_for(user: Any) -> Grants:
    """Effective permissions of a user, computed once per user object (i.e. per request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Grants()
    cached = getattr(user, "_huoban_grants", None)
    if cached is not None:
        return cached
    from huoban.platform.identity.models import OrgUnit

    grants = Grants(is_admin=bool(user.is_superuser))
    for role in user.roles.all():
        grants.require_2fa = grants.require_2fa or role.require_2fa
        for object_type, actions in (role.permissions or {}).items():
            grants.actions.setdefault(object_type, set()).update(actions)
            if "*" in actions:
                grants.is_admin = grants.is_admin or object_type == "*"
        for object_type, scope in (role.scopes or {}).items():
            if Action.VIEW in role.actions_for(object_type) or object_type == "*":
                current = grants.scopes.get(object_type, Scope.NONE)
                if _RANK.get(scope, 0) > _RANK.get(current, 0):
                    grants.scopes[object_type] = scope
    # the primary unit first, then the units the user manages (one query for both)
    mine = Q(manager=user) | Q(pk=user.primary_unit_id) if user.primary_unit_id else Q(manager=user)
    units = sorted(
        OrgUnit.objects.filter(mine).only("pk", "path"), key=lambda u: u.pk != user.primary_unit_id
    )
    grants.unit_ids = [u.pk for u in units]
    if units:
        grants.tree_unit_ids = OrgUnit.subtree_ids(units)
    user._huoban_grants = grants
    return grants


def forget_grants(user: Any) -> None:
    if hasattr(user, "_huoban_grants"):
        del user._huoban_grants


def has_perm(user: Any, object_type: str, action: str) -> bool:
    return grants_for(user).can(object_type, action)


def _object_type_of(model: type[Model]) -> str:
    key = getattr(model, "object_type", None)
    if not key:
        raise TypeError(f"{model.__name__} is not a registered business record")
    return key


def scope_filter(user: Any, model: type[Model], action: str = Action.VIEW) -> Q | None:
    """The Q that restricts ``model`` to what ``user`` may ``action``; None means nothing."""
    object_type = _object_type_of(model)
    grants = grants_for(user)
    if not grants.can(object_type, Action.VIEW) or not grants.can(object_type, action):
        return None
    scope = grants.scope(object_type)
    if scope == Scope.ALL:
        return Q()
    if scope == Scope.UNIT_TREE:
        q = Q(owner_unit_id__in=grants.tree_unit_ids) | Q(owner_id=user.pk)
    elif scope == Scope.UNIT:
        q = Q(owner_unit_id__in=grants.unit_ids) | Q(owner_id=user.pk)
    elif scope == Scope.OWN:
        q = Q(owner_id=user.pk)
    else:
        q = None
    # Shares widen what a user may see (read or edit shares) and change (edit shares only);
    # they never grant delete, transfer or merge.
    shared = (
        []
        if action in WRITE_ACTIONS - {Action.CHANGE}
        else shared_ids(user, model, write=action == Action.CHANGE)
    )
    if shared:
        q = (q | Q(pk__in=shared)) if q is not None else Q(pk__in=shared)
    return q


_share_generation = 0


def shares_changed(**_: Any) -> None:
    """Share rows changed (post_save / post_delete of Share): cached share ids are stale."""
    global _share_generation
    _share_generation += 1


def shared_ids(user: Any, model: type[Model], write: bool = False) -> list[int]:
    """Ids of ``model`` records shared with the user or their units (edit shares only when
    ``write``); read once per user object (i.e. per request) until a share changes."""
    from .models import Share

    grants = grants_for(user)
    cached = grants.shared.get((model, write))
    if cached is not None and cached[0] == _share_generation:
        return cached[1]
    generation = _share_generation
    target = Q(user_id=user.pk)
    if grants.unit_ids:
        target |= Q(unit_id__in=grants.unit_ids)
    qs = Share.objects.filter(target, content_type=ContentType.objects.get_for_model(model))
    if write:
        qs = qs.filter(level=Share.Level.EDIT)
    ids = list(qs.values_list("object_id", flat=True)[:5000])
    grants.shared[(model, write)] = (generation, ids)
    return ids


def scoped(
    user: Any,
    model_or_qs: type[Model] | QuerySet,
    action: str = Action.VIEW,
    *,
    include_deleted: bool = False,
    only_deleted: bool = False,
) -> QuerySet:
    """The permission-scoped queryset of business records for ``user``.

    Soft-deleted records are excluded unless asked for (the recycle bin asks for them).
    """
    if isinstance(model_or_qs, QuerySet):
        qs = model_or_qs
        model = qs.model
    else:
        model = model_or_qs
        qs = model._default_manager.all()
    q = scope_filter(user, model, action)
    qs = qs.none() if q is None else qs.filter(q)
    if only_deleted:
        qs = qs.filter(deleted_at__isnull=False)
    elif not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    return qs._mark_scoped() if hasattr(qs, "_mark_scoped") else qs


def get_scoped_or_404(
    user: Any, model: type[Model] | QuerySet, pk: Any, action: str = Action.VIEW, **kw: Any
):
    """Load one record through the door; missing and out-of-scope are the same 404."""
    obj = scoped(user, model, action, **kw).filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise Http404("Not found")
    return obj


# --- The door guard -----------------------------------------------------------------------------
# While a request is served, reading a business record queryset that did not come through
# ``scoped()`` (or an explicit ``.unrestricted()``) is a bug. In DEBUG and tests it raises; in
# production it is logged so the page still renders.

_guard: contextvars.ContextVar[bool] = contextvars.ContextVar("huoban_door_guard", default=False)


class UnscopedAccess(RuntimeError):
    pass


@contextmanager
def door_guard(active: bool = True) -> Iterator[None]:
    token = _guard.set(active)
    try:
        yield
    finally:
        _guard.reset(token)


def check_door(qs: QuerySet) -> None:
    if not _guard.get() or getattr(qs, "_huoban_scoped", False):
        return
    message = f"{qs.model.__name__} read without scoped(): use huoban.platform.access.scoped(user, Model)"
    if settings.DEBUG or getattr(settings, "TESTING", False):
        raise UnscopedAccess(message)
    log.error(message)


def service(func: Any) -> Any:
    """Mark a service function: inside it, the door guard is off (services load what they need
    after the caller went through the door; system jobs act with explicit system actors)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _guard.set(False)
        try:
            return func(*args, **kwargs)
        finally:
            _guard.reset(token)

    return wrapper
