"""GET /api/v1/me/: the user, unit, roles and effective permissions."""

from __future__ import annotations


def test_me_for_a_sales_rep(org, api):
    r = api(org.sales_rep1).get("/api/v1/me/")
    assert r.status_code == 200
    me = r.json()
    assert me["id"] == org.sales_rep1.pk and me["username"] == "sales_rep1"
    assert me["unit"]["code"] == "east-sales" and me["unit"]["id"] == org.units["east-sales"].pk
    assert [role["code"] for role in me["roles"]] == ["sales_rep"]
    assert me["is_administrator"] is False
    perms = me["permissions"]
    assert perms["customer"]["scope"] == "own"
    assert set(perms["customer"]["actions"]) == {"view", "add", "change"}
    assert "delete" not in perms["customer"]["actions"]
    assert "custom_field" not in perms and "audit_event" not in perms


def test_me_for_the_administrator(org, api):
    me = api(org.admin).get("/api/v1/me/").json()
    assert me["username"] == "admin" and me["is_administrator"] is True
    assert me["unit"]["code"] == "hq"
    assert "administrator" in [role["code"] for role in me["roles"]]
    assert me["permissions"]["customer"]["scope"] == "all"
    assert {"view", "add", "change", "delete", "assign", "export", "manage"} <= set(
        me["permissions"]["customer"]["actions"]
    )


def test_me_for_a_manager_lists_managed_units(org, api):
    me = api(org.sales_manager).get("/api/v1/me/").json()
    assert {u["code"] for u in me["managed_units"]} == {"east", "east-sales"}
    assert me["permissions"]["customer"]["scope"] == "unit_tree"


def test_me_requires_authentication(db):
    from rest_framework.test import APIClient

    r = APIClient().get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
