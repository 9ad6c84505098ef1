"""Scoring rules (declarative conditions and events) and assignment rules (round robin, least
loaded, absence, fallback, re-run), first-contact SLA."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from huoban.leads import conditions
from huoban.leads.models import AssignmentRule, Lead, LeadSettings, ScoringRule
from huoban.platform.audit.models import AuditEvent
from huoban.platform.notifications.models import Notification


@pytest.mark.parametrize(
    ("field", "op", "expected", "actual", "result"),
    [
        ("industry", "eq", "I65", "I65", True),
        ("industry", "ne", "I65", "C39", True),
        ("industry", "in", ["65", "39"], "39", True),
        ("industry", "in", ["I65"], "", False),
        ("budget", "gte", 500000, Decimal("500000.00"), True),
        ("budget", "gte", 500000, Decimal("499999"), False),
        ("budget", "lte", "1000", Decimal("999"), True),
        ("budget", "gte", 1, None, False),
        ("requirement", "contains", "crm", "We need a CRM system", True),
        ("requirement", "is_empty", True, "", True),
        ("requirement", "is_empty", False, "", False),
        ("region", "eq", "330000", "330100", True),
        ("region", "in", ["440000"], "330100", False),
        ("tags", "contains", "vip", ["VIP", "x"], True),
    ],
)
def test_condition_operators(field, op, expected, actual, result):
    assert conditions.evaluate(field, op, expected, actual) is result


def test_scoring_rules_api_and_breakdown(org, api, make_lead):
    admin = api(org.admin)
    rules = [
        {
            "name": "Target industries",
            "field": "industry",
            "operator": "in",
            "value": ["65", "39"],
            "points": 20,
        },
        {"name": "Big budget", "field": "budget", "operator": "gte", "value": 500000, "points": 30},
        {"name": "Opened an email", "event": "email_opened", "points": 5},
        {"name": "Silent for 14 days", "event": "inactive_days", "value": 14, "points": -10},
    ]
    for rule in rules:
        r = admin.post("/api/v1/lead-scoring-rules/", rule, format="json")
        assert r.status_code == 201, r.content
    # validation: never eval; unknown fields and malformed rules are refused
    bad = [
        {"name": "x", "field": "__class__", "operator": "eq", "value": 1, "points": 1},
        {"name": "x", "field": "industry", "operator": "in", "value": "I65", "points": 1},
        {"name": "x", "field": "industry", "event": "email_opened", "points": 1},
        {"name": "x", "field": "industry", "operator": "regex", "value": ".*", "points": 1},
    ]
    for rule in bad:
        assert admin.post("/api/v1/lead-scoring-rules/", rule, format="json").status_code == 400
    # reps read the rules but may not change them
    assert api(org.sales_rep1).get("/api/v1/lead-scoring-rules/").status_code == 200
    assert api(org.sales_rep1).post("/api/v1/lead-scoring-rules/", rules[0], format="json").status_code == 403

    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/leads/", {"name": "评分", "industry": "65", "budget": 800000}, format="json")
    body = r.json()
    assert body["score"] == 50
    assert {b["name"] for b in body["score_breakdown"]} == {"Target industries", "Big budget"}
    lead_id = body["id"]
    # recalculated when the lead changes …
    r = rep.patch(f"/api/v1/leads/{lead_id}/", {"budget": 1000}, format="json")
    assert r.json()["score"] == 20
    # … and when its activities change
    r = rep.post(f"/api/v1/leads/{lead_id}/events/", {"event": "email_opened"}, format="json")
    assert r.status_code == 201
    assert rep.get(f"/api/v1/leads/{lead_id}/").json()["score"] == 25
    # time-based rule (daily job)
    from huoban.leads.scoring import rescore_all

    Lead.objects.filter(pk=lead_id).update(
        created_at=timezone.now() - dt.timedelta(days=30),
        last_activity_at=timezone.now() - dt.timedelta(days=20),
    )
    from huoban.leads.models import LeadActivity

    LeadActivity.objects.filter(lead_id=lead_id).update(at=timezone.now() - dt.timedelta(days=20))
    rescore_all()
    assert Lead.objects.get(pk=lead_id).score == 15


def test_rule_change_rescores_existing_leads(org, make_lead):
    from huoban.leads.services import scoring_rule_save

    lead = make_lead(org.sales_rep1, urgency="high")
    assert lead.score == 0
    scoring_rule_save(
        actor=org.admin,
        rule=None,
        data={"name": "Urgent", "field": "urgency", "operator": "eq", "value": "high", "points": 15},
    )
    lead.refresh_from_db()
    assert lead.score == 15 and lead.score_breakdown[0]["name"] == "Urgent"
    assert AuditEvent.objects.filter(object_type="lead_scoring_rule", action="create").exists()


def _rule(**kw):
    from huoban.leads.services import assignment_rule_save

    kw.setdefault("name", "rule")
    return assignment_rule_save(actor=None, rule=None, data=kw)


def test_assignment_rule_validation_api(org, api):
    admin = api(org.admin)
    ok = {
        "name": "Zhejiang web",
        "priority": 10,
        "conditions": {"region": ["浙江", "Jiangsu"], "source": ["web_form"], "min_score": 10},
        "assign_to_unit": org.units["east-sales"].pk,
        "strategy": "round_robin",
    }
    r = admin.post("/api/v1/assignment-rules/", ok, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["conditions"]["region"] == ["330000", "320000"]
    bad = [
        {**ok, "conditions": {"colour": ["red"]}},
        {**ok, "conditions": {"region": ["Atlantis"]}},
        {**ok, "assign_to_user": org.sales_rep1.pk},
        {"name": "nobody", "priority": 1},
    ]
    for body in bad:
        assert admin.post("/api/v1/assignment-rules/", body, format="json").status_code == 400
    assert api(org.marketing).post("/api/v1/assignment-rules/", ok, format="json").status_code == 403


def test_round_robin_within_team_skips_absent_users(org):
    from huoban.leads.services import lead_create

    _rule(
        priority=1,
        conditions={"region": ["330000"]},
        assign_to_unit=org.units["east-sales"],
        strategy="round_robin",
    )
    owners = [
        lead_create(
            actor=org.marketing, data={"name": f"rr{i}", "region": "杭州"}, dedup_policy="create"
        ).owner
        for i in range(4)
    ]
    assert [o.username for o in owners] == ["sales_rep1", "sales_rep2", "sales_rep1", "sales_rep2"]
    org.sales_rep2.absent_until = timezone.now() + dt.timedelta(days=3)
    org.sales_rep2.save()
    lead = lead_create(
        actor=org.marketing, data={"name": "rr-absent", "region": "330000"}, dedup_policy="create"
    )
    assert lead.owner == org.sales_rep1
    assert lead.assignment_rule is not None and lead.sla_due_at is not None
    event = AuditEvent.objects.filter(object_type="lead", object_id=str(lead.pk), action="assign").get()
    assert event.changes["owner"] == [None, org.sales_rep1.pk]
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="lead.assigned").count() == 3


def test_least_loaded_priority_and_conditions(org, make_lead):
    from huoban.leads.services import lead_create

    for _ in range(2):
        make_lead(org.sales_rep1)
    _rule(priority=20, conditions={}, assign_to_unit=org.units["east-sales"], strategy="least_loaded")
    _rule(priority=10, conditions={"urgency": ["high"], "min_score": 0}, assign_to_user=org.sales_rep3)
    low = lead_create(actor=org.marketing, data={"name": "ll1", "urgency": "low"}, dedup_policy="create")
    assert low.owner == org.sales_rep2  # rep1 already has two open leads
    high = lead_create(actor=org.marketing, data={"name": "ll2", "urgency": "high"}, dedup_policy="create")
    assert high.owner == org.sales_rep3  # lower priority number wins
    # an explicit owner skips the rules (assign permission needed for someone else)
    mine = lead_create(
        actor=org.sales_rep1, data={"name": "mine", "urgency": "high", "owner": org.sales_rep1}
    )
    assert mine.owner == org.sales_rep1


def test_fallback_user_and_queue(org, api):
    from huoban.leads.services import lead_create

    _rule(priority=1, conditions={"source": ["partner"]}, assign_to_user=org.sales_rep3)
    queued = lead_create(actor=org.marketing, data={"name": "q", "source": "website"}, dedup_policy="create")
    # created by a user, no rule matched: the creator keeps it
    assert queued.owner == org.marketing
    from huoban.platform.identity.actors import SystemActor

    queued = lead_create(
        actor=SystemActor("web_form"), data={"name": "q2", "source": "website"}, dedup_policy="create"
    )
    assert queued.owner is None  # the fallback queue
    settings = LeadSettings.load()
    settings.fallback_unit = org.units["east-sales"]
    settings.save()
    queued2 = lead_create(actor=SystemActor("web_form"), data={"name": "q3"}, dedup_policy="create")
    assert queued2.owner is None and queued2.owner_unit == org.units["east-sales"]
    # the east manager sees the queued lead of his team; reps do not
    assert api(org.sales_manager).get(f"/api/v1/leads/{queued2.pk}/").status_code == 200
    assert api(org.sales_rep1).get(f"/api/v1/leads/{queued2.pk}/").status_code == 404
    lst = api(org.sales_manager).get("/api/v1/leads/?queue=true").json()
    assert [row["id"] for row in lst["results"]] == [queued2.pk]
    settings.fallback_user = org.sales_rep2
    settings.save()
    fb = lead_create(actor=SystemActor("web_form"), data={"name": "q4"}, dedup_policy="create")
    assert fb.owner == org.sales_rep2


def test_rerun_assignment_and_manual_assign(org, api, make_lead):
    from huoban.leads.services import lead_create
    from huoban.platform.identity.actors import SystemActor

    leads = [
        lead_create(
            actor=SystemActor("import"), data={"name": f"re{i}", "region": "江苏"}, dedup_policy="create"
        )
        for i in range(3)
    ]
    assert all(lead.owner is None for lead in leads)
    _rule(priority=1, conditions={"region": ["320000"]}, assign_to_user=org.sales_rep2)
    mk = api(org.marketing)
    r = mk.post("/api/v1/leads/assign/", {"ids": [lead.pk for lead in leads]}, format="json")
    assert r.status_code == 200, r.content
    assert all(x["changed"] and x["owner"] == org.sales_rep2.pk for x in r.json()["results"])
    assert AuditEvent.objects.filter(object_type="lead", action="assign").count() == 3
    # manual assignment of one lead
    r = mk.post(f"/api/v1/leads/{leads[0].pk}/assign/", {"user": org.sales_rep1.pk}, format="json")
    assert r.json()["results"][0]["owner"] == org.sales_rep1.pk
    assert Lead.objects.get(pk=leads[0].pk).owner_unit == org.sales_rep1.primary_unit
    # a rep has no assign permission
    assert (
        api(org.sales_rep2).post(f"/api/v1/leads/{leads[1].pk}/assign/", {}, format="json").status_code == 403
    )


def test_working_hours_clock():
    from huoban.leads.workhours import add_working_hours

    settings = LeadSettings(
        work_start=dt.time(9), work_end=dt.time(18), work_days=[1, 2, 3, 4, 5], holidays=["2026-10-01"]
    )
    tz = timezone.get_default_timezone()
    friday_5pm = dt.datetime(2026, 11, 20, 17, 0, tzinfo=tz)
    assert add_working_hours(friday_5pm, 4, settings) == dt.datetime(2026, 11, 23, 12, 0, tzinfo=tz)
    night = dt.datetime(2026, 11, 18, 23, 30, tzinfo=tz)
    assert add_working_hours(night, 4, settings) == dt.datetime(2026, 11, 19, 13, 0, tzinfo=tz)
    holiday_eve = dt.datetime(2026, 9, 30, 17, 0, tzinfo=tz)
    assert add_working_hours(holiday_eve, 2, settings) == dt.datetime(2026, 10, 2, 10, 0, tzinfo=tz)


def test_first_contact_sla(org, make_lead):
    from huoban.leads.services import lead_check_sla, lead_record_activity

    late = make_lead(org.sales_rep1)
    contacted = make_lead(org.sales_rep1)
    Lead.objects.filter(pk__in=[late.pk, contacted.pk]).update(
        sla_due_at=timezone.now() - dt.timedelta(hours=1)
    )
    lead_record_activity(actor=org.sales_rep1, lead=contacted, event="call")
    contacted.refresh_from_db()
    assert contacted.status == "contacted" and contacted.first_contacted_at is not None
    assert lead_check_sla() == 1
    assert lead_check_sla() == 0  # told once
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="lead.sla_overdue").count() == 1
    assert Notification.objects.filter(recipient=org.sales_manager, verb="lead.sla_overdue").count() == 1
    late.refresh_from_db()
    assert late.sla_overdue
    assert ScoringRule.objects.count() == 0
    assert AssignmentRule.objects.count() == 0
