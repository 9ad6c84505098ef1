"""Regression tests for fixes made while reviewing the platform (bad input → 400, not 500;
writes audited; hot paths that must not repeat queries)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huoban.platform.audit.models import AuditEvent


def _queries_on(ctx: CaptureQueriesContext, table: str) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if table in q["sql"]]


# --- bad input is a field error, never a 500 ------------------------------------------------------


def test_token_create_with_non_numeric_days_is_a_field_error(org, api):
    r = api(org.sales_rep1).post(
        "/api/v1/me/tokens/", {"name": "x", "expires_in_days": "soon"}, format="json"
    )
    assert r.status_code == 400, r.content
    assert "expires_in_days" in r.json()


def test_role_update_with_a_non_numeric_if_match_is_a_field_error(org, api):
    from huoban.platform.identity.models import Role

    role = Role.objects.get(code="marketing")
    r = api(org.admin).patch(
        f"/api/v1/roles/{role.pk}/", {"name": "Mkt"}, format="json", HTTP_IF_MATCH='"abc"'
    )
    assert r.status_code == 400, r.content
    assert "version" in r.json()


def test_role_update_honours_if_match(org, api):
    from huoban.platform.identity.models import Role

    role = Role.objects.get(code="marketing")
    stale = role.version - 1 if role.version > 1 else role.version + 1
    r = api(org.admin).patch(
        f"/api/v1/roles/{role.pk}/", {"name": "Mkt"}, format="json", HTTP_IF_MATCH=f'"{stale}"'
    )
    assert r.status_code == 409, r.content


# --- numbering rules through the API: validated and audited like the settings page -------------------


def test_numbering_rule_api_validates_and_audits(org, api):
    admin = api(org.admin)
    bad = admin.post(
        "/api/v1/numbering-rules/",
        {"object_type": "customer", "prefix": "C U S T!", "date_pattern": "%Y", "serial_length": 4},
        format="json",
    )
    assert bad.status_code == 400, bad.content
    assert "prefix" in bad.json()
    ok = admin.post(
        "/api/v1/numbering-rules/",
        {
            "object_type": "customer",
            "prefix": "CU",
            "date_pattern": "%Y",
            "separator": "-",
            "serial_length": 5,
        },
        format="json",
    )
    assert ok.status_code == 201, ok.content
    rule_id = ok.json()["id"]
    assert ok.json()["preview"].startswith("CU")
    r = admin.patch(f"/api/v1/numbering-rules/{rule_id}/", {"serial_length": 6}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["serial_length"] == 6
    events = AuditEvent.objects.filter(object_type="numbering_rule", object_id=str(rule_id))
    assert events.count() == 2
    r = admin.patch(f"/api/v1/numbering-rules/{rule_id}/", {"serial_length": 0}, format="json")
    assert r.status_code == 400, r.content


# --- hot paths ----------------------------------------------------------------------------------------


def test_picklist_label_is_served_from_the_cache(db):
    from huoban.platform.records import picklists

    picklists.load_picklists()
    assert picklists.picklist_label("customer_source", "website") == "Website"
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(20):
            picklists.picklist_label("customer_source", "website")
            picklists.picklist_label("customer_source", "wechat")
    assert len(ctx.captured_queries) == 0


def test_picklist_edits_show_up_at_once(db):
    from huoban.platform.records import picklists
    from huoban.platform.records.models import PicklistValue

    picklists.load_picklists()
    assert picklists.picklist_label("customer_source", "website") == "Website"
    PicklistValue.objects.filter(picklist__key="customer_source", code="website").update(label="Web")
    value = PicklistValue.objects.get(picklist__key="customer_source", code="website")
    value.label = "Web site"
    value.save()
    assert picklists.picklist_label("customer_source", "website") == "Web site"
    value.active = False
    value.save()
    with pytest.raises(ValueError):
        picklists.resolve_picklist("customer_source", "website")
    assert picklists.picklist_label("customer_source", "website") == "Web site"  # inactive still labelled


def test_shares_are_read_once_per_user_object_and_model(org):
    from huoban.customers.models import Customer
    from huoban.platform.access.scoping import scoped

    rep = org.sales_rep1
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(4):
            list(scoped(rep, Customer))
    assert len(_queries_on(ctx, "access_share")) == 1


def test_a_new_share_is_seen_by_a_user_object_that_already_read(org):
    from huoban.customers.models import Customer
    from huoban.platform.access.scoping import scoped
    from huoban.platform.records.services import share_record, unshare_record
    from tests.permissions import make_customer

    owner, reader = org.sales_rep1, org.sales_rep3
    c = make_customer(owner)
    assert not scoped(reader, Customer).filter(pk=c.pk).exists()
    share_record(actor=owner, obj=c, user=reader, level="read")
    assert scoped(reader, Customer).filter(pk=c.pk).exists()
    unshare_record(actor=owner, obj=c, user=reader)
    assert not scoped(reader, Customer).filter(pk=c.pk).exists()


def test_session_is_not_written_on_every_request(org, client):
    from huoban.platform.identity.testing import web_login

    web_login(client, "sales_rep1")
    client.get("/api/v1/me/")
    with CaptureQueriesContext(connection) as ctx:
        client.get("/api/v1/me/")
    writes = [q for q in _queries_on(ctx, "django_session") if not q.lstrip().upper().startswith("SELECT")]
    assert writes == []


def test_bulk_transfer_audits_and_emits_per_record(org):
    from huoban.customers.models import Customer
    from huoban.platform.events.bus import subscribe, unsubscribe
    from huoban.platform.records.services import record_transfer
    from tests.permissions import make_customer

    rep, other = org.sales_rep1, org.sales_rep3
    objs = [make_customer(rep) for _ in range(3)]
    seen: list = []

    def handler(event):
        seen.append(event.payload)

    subscribe("customer.transferred", handler)
    try:
        n = record_transfer(actor=org.sales_manager, objs=[*objs, objs[0]], new_owner=other, reason="r")
    finally:
        unsubscribe("customer.transferred", handler)
    assert n == 3
    assert sorted(p["id"] for p in seen) == sorted(o.pk for o in objs)
    rows = Customer.objects.unrestricted().filter(pk__in=[o.pk for o in objs])
    assert {(r.owner_id, r.owner_unit_id, r.version, r.updated_by_id) for r in rows} == {
        (other.pk, other.primary_unit_id, objs[0].version, org.sales_manager.pk)
    }
    assert objs[0].version == 2
    events = AuditEvent.objects.filter(action="transfer", object_type="customer")
    assert events.count() == 3
