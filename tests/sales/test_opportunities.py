"""Opportunities: create, probability from the stage, moves with required fields, backwards moves,
won/lost, stage history with time spent, contacts with roles, board, stuck alerts, permissions."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from huoban.platform.audit.models import AuditEvent
from huoban.platform.notifications.models import Notification
from huoban.sales.models import Opportunity, StageHistory
from tests.permissions import ALL_ACCESS, NO_ACCESS, OWN_ONLY_NO_DELETE, UNIT_TREE_FULL, check_matrix


def test_create_through_api(org, api, make_customer, stages):
    customer = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)
    r = rep.post(
        "/api/v1/opportunities/",
        {
            "name": "ERP 升级",
            "customer": customer.pk,
            "amount": "120000.50",
            "close_date": "2026-12-20",
            "competitors": ["SAP", "用友"],
            "products": [{"name": "CRM 专业版", "quantity": 50}],
            "next_step": "安排演示",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith("OPP") and body["stage"] == stages["needs_confirmed"].pk
    assert body["probability"] == 10 and body["probability_manual"] is False
    assert body["status"] == "open" and body["currency"] == "CNY" and body["weighted_amount"] == "12000.05"
    # probability override, then back to the stage's
    r = rep.patch(f"/api/v1/opportunities/{body['id']}/", {"probability": 35}, format="json")
    assert r.json()["probability"] == 35 and r.json()["probability_manual"] is True
    r = rep.patch(f"/api/v1/opportunities/{body['id']}/", {"probability": None}, format="json")
    assert r.json()["probability"] == 10
    # stage changes only through move/
    r = rep.patch(f"/api/v1/opportunities/{body['id']}/", {"stage": stages["proposal"].pk}, format="json")
    assert r.status_code == 400
    # a customer outside the user's scope is refused
    foreign = make_customer(org.sales_rep3)
    r = rep.post("/api/v1/opportunities/", {"name": "x", "customer": foreign.pk}, format="json")
    assert r.status_code == 400 and "customer" in r.json()
    # creating directly in a later stage checks that stage's required fields
    r = rep.post(
        "/api/v1/opportunities/",
        {"name": "y", "customer": customer.pk, "stage": stages["negotiation"].pk},
        format="json",
    )
    assert r.status_code == 400 and set(r.json()) >= {"stage", "amount", "close_date"}


def test_move_required_fields_history_and_backwards(org, api, make_opp, stages):
    opp = make_opp(org.sales_rep1)
    rep = api(org.sales_rep1)
    url = f"/api/v1/opportunities/{opp.pk}/move/"
    r = rep.post(url, {"stage": stages["proposal"].pk}, format="json")
    assert r.status_code == 400
    assert "amount" in r.json() and "amount" in r.json()["stage"][0]
    r = rep.post(url, {"stage": stages["proposal"].pk, "amount": "50000"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["stage"] == stages["proposal"].pk and r.json()["probability"] == 40
    StageHistory.objects.filter(opportunity=opp).update(entered_at=timezone.now() - dt.timedelta(days=3))
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=3))
    r = rep.post(url, {"stage": stages["needs_confirmed"].pk}, format="json")  # backwards
    assert r.status_code == 200
    hist = rep.get(f"/api/v1/opportunities/{opp.pk}/stage-history/").json()
    assert [h["stage"] for h in hist] == [
        stages["needs_confirmed"].pk,
        stages["proposal"].pk,
        stages["needs_confirmed"].pk,
    ]
    assert [h["backwards"] for h in hist] == [False, False, True]
    assert hist[1]["duration_seconds"] >= 3 * 86400 - 5 and hist[1]["days"] >= 3
    assert hist[2]["left_at"] is None
    opp.refresh_from_db()
    assert opp.max_position == stages["proposal"].position  # the furthest stage reached stays
    assert (
        AuditEvent.objects.filter(object_type="opportunity", object_id=str(opp.pk), action="move").count()
        == 2
    )
    # stale version refused
    r = rep.post(url, {"stage": stages["proposal"].pk, "version": 1}, format="json")
    assert r.status_code == 409


def test_won_and_lost(org, api, make_opp, stages):
    rep = api(org.sales_rep1)
    opp = make_opp(org.sales_rep1, amount="80000", close_date="2027-03-01")
    r = rep.post(
        f"/api/v1/opportunities/{opp.pk}/move/",
        {"stage": stages["won"].pk, "close_reason": "price"},
        format="json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "won" and body["probability"] == 100 and body["forecast_category"] == "closed"
    assert body["closed_at"] and body["close_date"] == timezone.localdate().isoformat()
    lost = make_opp(org.sales_rep1)
    r = rep.post(f"/api/v1/opportunities/{lost.pk}/move/", {"stage": stages["lost"].pk}, format="json")
    assert r.status_code == 400 and "close_reason" in r.json()
    r = rep.post(
        f"/api/v1/opportunities/{lost.pk}/move/",
        {"stage": stages["lost"].pk, "close_reason": "not-a-reason"},
        format="json",
    )
    assert r.status_code == 400
    r = rep.post(
        f"/api/v1/opportunities/{lost.pk}/move/",
        {"stage": stages["lost"].pk, "close_reason": "competitor", "close_note": "选了竞品"},
        format="json",
    )
    assert r.json()["status"] == "lost" and r.json()["probability"] == 0
    # reopening is a backwards move
    r = rep.post(
        f"/api/v1/opportunities/{lost.pk}/move/", {"stage": stages["needs_confirmed"].pk}, format="json"
    )
    assert r.json()["status"] == "open" and r.json()["closed_at"] is None
    assert StageHistory.objects.filter(opportunity=lost).last().backwards is True


def test_contacts_with_roles(org, api, make_customer):
    from huoban.customers.services import contact_create

    customer = make_customer(org.sales_rep1)
    c1 = contact_create(actor=org.sales_rep1, data={"name": "张总", "customer": customer.pk})
    c2 = contact_create(actor=org.sales_rep1, data={"name": "李工", "customer": customer.pk})
    rep = api(org.sales_rep1)
    r = rep.post(
        "/api/v1/opportunities/",
        {
            "name": "带联系人",
            "customer": customer.pk,
            "contacts": [
                {"contact": c1.pk, "role": "decision_maker"},
                {"contact": c2.pk, "role": "technical"},
            ],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["contacts"] == [
        {"contact": c1.pk, "role": "decision_maker", "is_primary": True},
        {"contact": c2.pk, "role": "technical", "is_primary": False},
    ]
    r = rep.patch(
        f"/api/v1/opportunities/{r.json()['id']}/", {"contacts": [{"contact": 999999}]}, format="json"
    )
    assert r.status_code == 400


def test_board(org, api, make_opp, stages, pipeline):
    make_opp(org.sales_rep1, amount="100")
    make_opp(org.sales_rep1, amount="300")
    o3 = make_opp(org.sales_rep2, amount="1000")
    from huoban.sales.services import opportunity_move

    opportunity_move(actor=org.sales_rep2, opportunity=o3, stage=stages["proposal"])
    r = api(org.sales_manager).get(f"/api/v1/opportunities/board/?pipeline={pipeline.pk}")
    assert r.status_code == 200
    cols = {c["stage"]["code"]: c for c in r.json()["columns"]}
    assert cols["needs_confirmed"]["count"] == 2 and cols["needs_confirmed"]["amount"] == "400.00"
    assert cols["needs_confirmed"]["weighted"] == "40.00"
    assert cols["proposal"]["count"] == 1 and cols["proposal"]["cards"][0]["id"] == o3.pk
    # filters apply; reps see their own cards only
    r = api(org.sales_manager).get(f"/api/v1/opportunities/board/?owner={org.sales_rep2.pk}")
    assert {c["stage"]["code"]: c["count"] for c in r.json()["columns"]}["needs_confirmed"] == 0
    r = api(org.sales_rep1).get("/api/v1/opportunities/board/")
    assert {c["stage"]["code"]: c["count"] for c in r.json()["columns"]}["proposal"] == 0


def test_stuck_alerts(org, api, make_opp, stages):
    from huoban.sales.services import opportunity_check_stuck

    opp = make_opp(org.sales_rep1)
    fresh = make_opp(org.sales_rep1)
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=16))
    assert opportunity_check_stuck() == {"flagged": 1, "escalated": 0}
    assert opportunity_check_stuck() == {"flagged": 0, "escalated": 0}
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="opportunity.stuck").count() == 1
    # the stage is named in the reader's language (the owner reads English, the manager Chinese)
    stuck = Notification.objects.get(recipient=org.sales_rep1, verb="opportunity.stuck")
    assert stuck.title_args["stage"] == opp.stage.name and opp.stage.name != opp.stage.name_zh_hans
    rep = api(org.sales_rep1)
    listed = rep.get("/api/v1/opportunities/?stuck=true").json()["results"]
    assert [o["id"] for o in listed] == [opp.pk] and listed[0]["is_stuck"] is True
    assert rep.get(f"/api/v1/opportunities/{fresh.pk}/").json()["is_stuck"] is False
    # second threshold (default: twice the dwell time) → the manager
    org.sales_manager.language = "zh-hans"
    org.sales_manager.save(update_fields=["language"])
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=31))
    assert opportunity_check_stuck()["escalated"] == 1
    assert (
        Notification.objects.filter(recipient=org.sales_manager, verb="opportunity.stuck_escalated").count()
        == 1
    )
    escalated = Notification.objects.get(recipient=org.sales_manager, verb="opportunity.stuck_escalated")
    assert escalated.title_args["stage"] == opp.stage.name_zh_hans
    # a move clears the flag
    from huoban.sales.services import opportunity_move

    opportunity_move(actor=org.sales_rep1, opportunity=opp, stage=stages["proposal"], data={"amount": 10})
    opp.refresh_from_db()
    assert not opp.is_stuck


def make_opp_for(owner):
    from huoban.customers.services import customer_create
    from huoban.sales.services import opportunity_create

    customer = customer_create(
        actor=owner, data={"name": f"矩阵客户{uuid.uuid4().hex[:8]}"}, confirm_duplicate=True
    )
    return opportunity_create(actor=owner, data={"name": "matrix", "customer": customer, "owner": owner})


def test_opportunity_permission_matrix(org):
    expected = {
        "sales_rep1": OWN_ONLY_NO_DELETE,
        "sales_rep3": OWN_ONLY_NO_DELETE,
        "sales_manager": UNIT_TREE_FULL,
        "sales_manager_north": UNIT_TREE_FULL,
        "service_agent": NO_ACCESS,
        "marketing": NO_ACCESS,
        "finance": NO_ACCESS,
        "admin": ALL_ACCESS,
    }
    check_matrix(org, resource="opportunities", factory=make_opp_for, expected=expected)


def test_list_query_count(org, api, make_opp, django_assert_max_num_queries):
    for _ in range(25):
        make_opp(org.sales_rep1)
    client = api(org.sales_manager)
    client.get("/api/v1/opportunities/")
    with django_assert_max_num_queries(12):
        r = client.get("/api/v1/opportunities/?page_size=50")
    assert r.json()["count"] == 25


def test_stage_history_follows_transfer_delete_and_source(org, make_opp, stages):
    from huoban.platform.records.services import record_delete, record_restore, record_transfer
    from huoban.sales.services import opportunity_move, opportunity_update, sync_history

    opp = make_opp(org.sales_rep1, amount=10, source="referral")
    opportunity_move(actor=org.sales_rep1, opportunity=opp, stage=stages["proposal"])
    rows = StageHistory.objects.filter(opportunity=opp)
    assert set(rows.values_list("owner_id", "source", "live")) == {(org.sales_rep1.pk, "referral", True)}
    record_transfer(actor=org.sales_manager, objs=[opp], new_owner=org.sales_rep3)
    assert set(rows.values_list("owner_id", "owner_unit_id")) == {
        (org.sales_rep3.pk, org.sales_rep3.primary_unit_id)
    }
    opp.refresh_from_db()
    opportunity_update(actor=org.sales_rep3, opportunity=opp, data={"source": "partner"})
    assert set(rows.values_list("source", flat=True)) == {"partner"}
    record_delete(actor=org.admin, obj=opp)
    assert set(rows.values_list("live", flat=True)) == {False}
    record_restore(actor=org.admin, obj=opp)
    assert set(rows.values_list("live", flat=True)) == {True}
    # the nightly resync repairs rows that drifted
    rows.update(owner_id=org.sales_rep1.pk, live=False)
    assert sync_history() == 2
    assert set(rows.values_list("owner_id", "live")) == {(org.sales_rep3.pk, True)}


def test_unit_filter(org, api, make_opp):
    east = make_opp(org.sales_rep1)
    north = make_opp(org.sales_rep3)
    admin = api(org.admin)
    ids = {
        o["id"] for o in admin.get(f"/api/v1/opportunities/?unit={org.units['north'].pk}").json()["results"]
    }
    assert north.pk in ids and east.pk not in ids
    assert admin.get("/api/v1/opportunities/?unit=999999").json()["count"] == 0
    r = admin.get("/api/v1/opportunities/?unit=abc")
    assert r.status_code == 400 and "unit" in r.json()


def test_close_reason_checked_by_the_service(org, make_opp, stages):
    """The win/loss reason comes from its picklist on every write path (API, pages, imports)."""
    import pytest

    from huoban.platform.errors import ValidationError
    from huoban.sales.services import opportunity_create, opportunity_move, opportunity_update

    opp = make_opp(org.sales_rep1)
    with pytest.raises(ValidationError) as exc:
        opportunity_move(
            actor=org.sales_rep1, opportunity=opp, stage=stages["lost"], data={"close_reason": "nope"}
        )
    assert "close_reason" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        opportunity_update(actor=org.sales_rep1, opportunity=opp, data={"close_reason": "nope"})
    assert "close_reason" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        opportunity_create(
            actor=org.sales_rep1, data={"name": "x", "customer": opp.customer, "close_reason": "nope"}
        )
    assert "close_reason" in exc.value.errors
    opportunity_move(
        actor=org.sales_rep1, opportunity=opp, stage=stages["lost"], data={"close_reason": "competitor"}
    )
    opp.refresh_from_db()
    assert opp.status == "lost" and opp.close_reason == "competitor"
