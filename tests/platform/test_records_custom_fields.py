"""Custom fields: definitions API (admin-only writes, exact shape, deactivate not delete) and
validation of every type on every record write."""

from __future__ import annotations

import uuid

import pytest

from huoban.customers.models import Customer
from huoban.platform.audit.models import AuditEvent
from huoban.platform.records.models import CustomField

CF = "/api/v1/custom-fields/"
URL = "/api/v1/customers/"
SHAPE = {
    "object_type",
    "key",
    "label",
    "label_zh_hans",
    "type",
    "required",
    "default",
    "options",
    "help_text",
    "order",
}


def define(client, **spec):
    body = {"object_type": "customer", "label": spec.get("key", "x").title(), **spec}
    r = client.post(CF, body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def new_customer(client, **extra):
    return client.post(
        URL, {"name": f"CF {uuid.uuid4().hex}", "confirm_duplicate": True, **extra}, format="json"
    )


def test_definition_shape_and_minimal_required_keys(org, api):
    admin = api(org.admin)
    r = admin.post(
        CF, {"object_type": "customer", "key": "budget", "label": "Budget", "type": "decimal"}, format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == SHAPE | {"id", "active"}
    assert body == {
        "id": body["id"],
        "object_type": "customer",
        "key": "budget",
        "label": "Budget",
        "label_zh_hans": "",
        "type": "decimal",
        "required": False,
        "default": None,
        "options": [],
        "help_text": "",
        "order": 0,
        "active": True,
    }
    # each of the four is required
    for missing in ("object_type", "key", "label", "type"):
        spec = {"object_type": "customer", "key": "k2", "label": "K2", "type": "text"}
        spec.pop(missing)
        r = admin.post(CF, spec, format="json")
        assert r.status_code == 400 and missing in r.json(), missing
    # the full shape is accepted
    full = {
        "object_type": "customer",
        "key": "tier",
        "label": "Tier",
        "label_zh_hans": "等级",
        "type": "single_select",
        "required": False,
        "default": "gold",
        "options": [{"value": "gold", "label": "Gold", "label_zh_hans": "金"}, "silver"],
        "help_text": "Commercial tier",
        "order": 3,
    }
    r = admin.post(CF, full, format="json")
    assert r.status_code == 201, r.content
    assert {k: r.json()[k] for k in SHAPE} == full
    # unknown keys are refused
    r = admin.post(CF, {**full, "key": "other", "colour": "red"}, format="json")
    assert r.status_code == 400 and "colour" in r.json()


def test_definition_validation(org, api):
    admin = api(org.admin)
    define(admin, key="seats", type="integer")
    cases = [
        ({"key": "seats", "type": "integer"}, "non_field_errors"),  # duplicate key per object type
        ({"key": "Bad Key", "type": "text"}, "key"),
        ({"key": "a__b", "type": "text"}, "key"),
        ({"key": "k", "type": "colour"}, "type"),
        ({"key": "k", "type": "single_select"}, "options"),
        ({"key": "k", "type": "single_select", "options": ["a", "a"]}, "options"),
        ({"key": "k", "type": "integer", "default": "many"}, "default"),
        ({"key": "k", "type": "single_select", "options": ["a"], "default": "b"}, "default"),
        ({"key": "k", "type": "text", "object_type": "spaceship"}, "object_type"),
    ]
    for spec, field in cases:
        body = {"object_type": "customer", "label": "L", **spec}
        r = admin.post(CF, body, format="json")
        assert r.status_code == 400, spec
        assert field in r.json(), (spec, r.json())
    cf = CustomField.objects.get(key="seats")
    r = admin.patch(f"{CF}{cf.pk}/", {"type": "text"}, format="json")
    assert r.status_code == 400 and "type" in r.json()
    r = admin.patch(f"{CF}{cf.pk}/", {"label": "Seats (licensed)", "order": 2}, format="json")
    assert r.status_code == 200 and r.json()["label"] == "Seats (licensed)"


def test_only_administrators_write_definitions(org, api):
    spec = {"object_type": "customer", "key": "k", "label": "K", "type": "text"}
    for username in ("sales_manager", "sales_rep1", "service_agent", "marketing", "finance"):
        r = api(org.users[username]).post(CF, spec, format="json")
        assert r.status_code == 403, username
        assert r.json()["code"] == "permission_denied"
    cf = define(api(org.admin), key="k", type="text")
    for username in ("sales_manager", "sales_rep1"):
        client = api(org.users[username])
        assert client.patch(f"{CF}{cf['id']}/", {"label": "x"}, format="json").status_code == 403
        assert client.delete(f"{CF}{cf['id']}/").status_code == 403
        # everyone may read the definitions
        assert client.get(CF, {"object_type": "customer"}).status_code == 200
        assert client.get(f"{CF}{cf['id']}/").json()["key"] == "k"


def test_delete_deactivates_and_activate_restores(org, api):
    admin = api(org.admin)
    cf = define(admin, key="legacy", type="text")
    rep = api(org.sales_rep1)
    r = new_customer(rep, custom_fields={"legacy": "kept"})
    assert r.status_code == 201
    cid = r.json()["id"]
    assert admin.delete(f"{CF}{cf['id']}/").status_code == 204
    obj = CustomField.objects.get(pk=cf["id"])
    assert obj.active is False  # still there
    assert admin.get(f"{CF}{cf['id']}/").json()["active"] is False
    assert [d["key"] for d in admin.get(CF, {"active": "true"}).json()["results"]] == []
    # the value stays on the record, but the field no longer accepts values
    assert rep.get(f"{URL}{cid}/").json()["custom_fields"] == {"legacy": "kept"}
    r = rep.patch(f"{URL}{cid}/", {"custom_fields": {"legacy": "new"}}, format="json")
    assert r.status_code == 400 and "legacy" in r.json()["custom_fields"]
    r = admin.post(f"{CF}{cf['id']}/activate/")
    assert r.status_code == 200 and r.json()["active"] is True
    assert rep.patch(f"{URL}{cid}/", {"custom_fields": {"legacy": "new"}}, format="json").status_code == 200
    actions = list(
        AuditEvent.objects.filter(object_type="custom_field", object_id=str(cf["id"])).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["create", "update", "update"]


GOOD_BAD = [
    # type, options, good input, stored value, bad input
    ("text", [], "hello", "hello", "x" * 256),
    ("long_text", [], "line1\nline2", "line1\nline2", {"a": 1}),
    ("integer", [], "42", 42, "4.2"),
    ("decimal", [], "1234.50", "1234.50", "12,5"),
    ("date", [], "2026-11-22", "2026-11-22", "22/11/2026"),
    ("datetime", [], "2026-11-22T10:30:00+08:00", "2026-11-22T10:30:00+08:00", "tomorrow"),
    ("boolean", [], "yes", True, "maybe"),
    ("single_select", ["a", "b"], "a", "a", "c"),
    ("multi_select", ["a", "b", "c"], ["a", "c"], ["a", "c"], ["a", "z"]),
    ("email", [], "Li.Na@Example.COM", "Li.Na@example.com", "not-an-email"),
    ("phone", [], "138 0013 8000", "+8613800138000", "12345"),
    ("url", [], "https://example.com/x", "https://example.com/x", "example dot com"),
]


@pytest.mark.parametrize("ftype,options,good,stored,bad", GOOD_BAD, ids=[g[0] for g in GOOD_BAD])
def test_every_type_is_validated_on_create_and_update(org, api, ftype, options, good, stored, bad):
    CustomField.objects.create(object_type="customer", key="f", label="F", type=ftype, options=options)
    rep = api(org.sales_rep1)
    r = new_customer(rep, custom_fields={"f": bad})
    assert r.status_code == 400, r.content
    assert list(r.json()["custom_fields"]) == ["f"]
    assert isinstance(r.json()["custom_fields"]["f"], list)
    r = new_customer(rep, custom_fields={"f": good})
    assert r.status_code == 201, r.content
    assert r.json()["custom_fields"]["f"] == stored
    cid = r.json()["id"]
    r = rep.patch(f"{URL}{cid}/", {"custom_fields": {"f": bad}}, format="json")
    assert r.status_code == 400 and "f" in r.json()["custom_fields"]
    assert Customer.objects.unrestricted().get(pk=cid).custom_fields["f"] == stored


def test_user_type(org, api):
    CustomField.objects.create(object_type="customer", key="buddy", label="Buddy", type="user")
    rep = api(org.sales_rep1)
    r = new_customer(rep, custom_fields={"buddy": org.sales_rep2.pk})
    assert r.status_code == 201 and r.json()["custom_fields"]["buddy"] == org.sales_rep2.pk
    assert new_customer(rep, custom_fields={"buddy": 99999999}).status_code == 400
    assert new_customer(rep, custom_fields={"buddy": "abc"}).status_code == 400


def test_required_default_and_unknown_keys(org, api):
    CustomField.objects.create(
        object_type="customer", key="source", label="Source", type="text", required=True
    )
    CustomField.objects.create(
        object_type="customer",
        key="tier",
        label="Tier",
        type="single_select",
        options=["gold", "std"],
        default="std",
    )
    rep = api(org.sales_rep1)
    r = new_customer(rep)
    assert r.status_code == 400 and list(r.json()["custom_fields"]) == ["source"]
    r = new_customer(rep, custom_fields={"source": "fair", "mystery": 1})
    assert r.status_code == 400 and list(r.json()["custom_fields"]) == ["mystery"]
    r = new_customer(rep, custom_fields={"source": "fair"})
    assert r.status_code == 201
    assert r.json()["custom_fields"] == {"source": "fair", "tier": "std"}  # default filled
    cid = r.json()["id"]
    # PATCH merges: other keys stay
    r = rep.patch(f"{URL}{cid}/", {"custom_fields": {"tier": "gold"}}, format="json")
    assert r.status_code == 200 and r.json()["custom_fields"] == {"source": "fair", "tier": "gold"}
    # a required field cannot be emptied
    r = rep.patch(f"{URL}{cid}/", {"custom_fields": {"source": ""}}, format="json")
    assert r.status_code == 400 and "source" in r.json()["custom_fields"]
    # the label is in the message
    assert "Source" in r.json()["custom_fields"]["source"][0]


def test_custom_field_changes_are_audited_field_by_field(org, api):
    CustomField.objects.create(object_type="customer", key="seats", label="Seats", type="integer")
    rep = api(org.sales_rep1)
    cid = new_customer(rep, custom_fields={"seats": 3}).json()["id"]
    rep.patch(f"{URL}{cid}/", {"custom_fields": {"seats": 7}}, format="json")
    last = rep.get(f"{URL}{cid}/history/").json()["results"][0]
    assert last["action"] == "update"
    assert last["changes"] == {"custom_fields.seats": [3, 7]}
