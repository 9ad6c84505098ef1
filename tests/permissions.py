"""The permission matrix: every preset role × {own, same-unit, other-unit record} ×
{list visible, detail, PATCH, DELETE}, checked through the HTTP API against an expected table.

Use it for every object type (see docs/api.md, "Permission matrix")::

    from tests.permissions import Expect, check_matrix, READ_ONLY_ALL, ...

    def make_thing(owner):                      # creates a record owned by ``owner``
        return thing_create(actor=owner, data={"name": uuid.uuid4().hex})

    EXPECTED = {
        "sales_rep1": OWN_ONLY_NO_DELETE,       # or a dict {"own": Expect(...), "same_unit": ..., ...}
        ...
    }

    def test_thing_matrix(org):
        check_matrix(org, resource="things", factory=make_thing, expected=EXPECTED)

For each acting user the helper creates three fresh records, owned by
  * ``own``        — the user,
  * ``same_unit``  — a peer created in the user's primary unit (role: sales rep, so it owns nothing else),
  * ``other_unit`` — a user whose unit is outside the actor's unit tree (``sales_rep3`` for the
    east side, ``sales_rep1`` for the north side; for the root unit, ``sales_rep3``),
then checks, in this order: the record appears in ``GET /api/v1/<resource>/`` (True/False),
``GET …/{id}/`` status, ``PATCH …/{id}/`` status (body: ``patch`` argument, default
``{"tags": ["matrix"]}``), ``DELETE …/{id}/`` status. Every mismatch is collected and reported in
one failure, as a table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework.test import APIClient

RELATIONS = ("own", "same_unit", "other_unit")


@dataclass(frozen=True)
class Expect:
    listed: bool
    detail: int
    patch: int
    delete: int

    def __str__(self) -> str:
        return f"list={'Y' if self.listed else 'N'} get={self.detail} patch={self.patch} delete={self.delete}"


# Common rows (each a relation → Expect mapping).
FULL = Expect(True, 200, 200, 204)
HIDDEN = Expect(False, 404, 404, 404)
READ_ONLY = Expect(True, 200, 403, 403)
OWN_NO_DELETE = Expect(True, 200, 200, 403)
HIDDEN_NO_DELETE = Expect(False, 404, 404, 403)  # delete refused by function permission first

ALL_ACCESS = {"own": FULL, "same_unit": FULL, "other_unit": FULL}
READ_ONLY_ALL = {"own": READ_ONLY, "same_unit": READ_ONLY, "other_unit": READ_ONLY}
OWN_ONLY_NO_DELETE = {"own": OWN_NO_DELETE, "same_unit": HIDDEN_NO_DELETE, "other_unit": HIDDEN_NO_DELETE}
UNIT_TREE_FULL = {"own": FULL, "same_unit": FULL, "other_unit": HIDDEN}
DENIED = Expect(False, 403, 403, 403)  # no view permission on the object type at all
NO_ACCESS = {"own": DENIED, "same_unit": DENIED, "other_unit": DENIED}

# Demo users standing for the preset roles.
DEMO_USERS = (
    "sales_rep1",
    "sales_rep2",
    "sales_rep3",
    "sales_manager",
    "sales_manager_north",
    "service_agent",
    "marketing",
    "finance",
    "admin",
)


def make_peer(actor: Any) -> Any:
    """A fresh user in ``actor``'s primary unit with the sales rep role (owns nothing else)."""
    from huoban.platform.identity.models import Role, User

    peer = User.objects.create(
        username=f"peer_{actor.username}_{uuid.uuid4().hex[:6]}",
        display_name=f"Peer of {actor.username}",
        primary_unit=actor.primary_unit,
    )
    rep = Role.objects.filter(code="sales_rep").first()
    if rep is not None:
        peer.roles.set([rep])
    return peer


def other_unit_owner(org: Any, actor: Any) -> Any:
    """A demo user whose primary unit lies outside the actor's unit tree (if any)."""
    from huoban.platform.access.scoping import forget_grants, grants_for

    tree = set(grants_for(actor).tree_unit_ids) or {actor.primary_unit_id}
    forget_grants(actor)
    for name in ("sales_rep3", "sales_rep1", "finance"):
        user = org.users.get(name)
        if user is not None and user.pk != actor.pk and user.primary_unit_id not in tree:
            return user
    return org.users["sales_rep3"] if actor.username != "sales_rep3" else org.users["sales_rep1"]


def _ids(body: Any) -> set[int]:
    return {row["id"] for row in body.get("results", [])}


def check_matrix(
    org: Any,
    *,
    resource: str,
    factory: Callable[[Any], Any],
    expected: dict[str, dict[str, Expect]],
    patch: dict[str, Any] | None = None,
    owners: Callable[[Any, Any], dict[str, Any]] | None = None,
) -> None:
    """Check ``expected[username][relation]`` for every user and relation; fail with a table.

    ``owners(org, actor)`` may override who owns the three records (return a dict with keys
    own / same_unit / other_unit); by default: the actor, a fresh peer in the actor's unit, and
    :func:`other_unit_owner`.
    """
    patch = patch if patch is not None else {"tags": ["matrix"]}
    base = f"/api/v1/{resource}/"
    problems: list[str] = []
    for username, row in expected.items():
        actor = org.users[username]
        who = (
            owners(org, actor)
            if owners
            else {"own": actor, "same_unit": make_peer(actor), "other_unit": other_unit_owner(org, actor)}
        )
        records = {rel: factory(who[rel]) for rel in RELATIONS if rel in row}
        client = APIClient()
        client.force_authenticate(user=actor)
        from huoban.platform.access.scoping import forget_grants

        forget_grants(actor)
        listed_ids = set()
        url: str | None = f"{base}?page_size=500"
        while url:
            r = client.get(url)
            if r.status_code != 200:
                break
            listed_ids |= _ids(r.json())
            url = r.json().get("next")
        for rel, want in row.items():
            obj = records[rel]
            got = Expect(
                listed=obj.pk in listed_ids,
                detail=client.get(f"{base}{obj.pk}/").status_code,
                patch=client.patch(f"{base}{obj.pk}/", patch, format="json").status_code,
                delete=client.delete(f"{base}{obj.pk}/").status_code,
            )
            if got != want:
                problems.append(f"{username:<20} {rel:<11} expected {want}   got {got}")
    if problems:
        raise AssertionError(f"permission matrix for /{resource}/ differs:\n" + "\n".join(problems))


def make_customer(owner: Any, **fields: Any) -> Any:
    """A customer owned by ``owner`` through the customers service (the platform tests' record
    factory). A random name avoids the duplicate check; ``custom_fields``/``tags`` pass through."""
    import inspect

    from huoban.customers.services import customer_create

    custom_fields = fields.pop("custom_fields", None)
    tags = fields.pop("tags", None)
    data = {"name": f"T{uuid.uuid4().hex}", **fields}
    kwargs: dict[str, Any] = {"custom_fields": custom_fields, "tags": tags}
    if "confirm_duplicate" in inspect.signature(customer_create).parameters:
        kwargs["confirm_duplicate"] = True
    return customer_create(actor=owner, data=data, **kwargs)
