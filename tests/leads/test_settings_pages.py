"""Settings pages of the leads app: scoring rules (+ preview), assignment rules (+ absences), lead
settings — through the browser-facing views, as each preset role."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from huoban.leads.models import AssignmentRule, Lead, LeadSettings, ScoringRule
from huoban.platform.audit.models import AuditEvent

PAGES = ("/settings/lead-scoring/", "/settings/lead-assignment/", "/settings/leads/")
FORMS = ("/settings/lead-scoring/new/", "/settings/lead-assignment/new/")


@pytest.fixture
def web(org):
    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


def _audit(object_type: str, obj_id: int, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(obj_id), action=action).order_by(
            "seq"
        )
    )


def _field_error(html: str, field: str) -> str:
    """The error message rendered under the field ``id_<field>`` (settings form markup)."""
    m = re.search(rf'id="id_{field}-error">([^<]+)<', html)
    return m.group(1) if m else ""


def _rule(**data):
    from huoban.leads.services import scoring_rule_save

    data.setdefault("points", 10)
    return scoring_rule_save(actor=None, rule=None, data=data)


# --- access --------------------------------------------------------------------------------------------


def test_admin_finds_the_pages_in_the_settings_overview(org, web):
    admin = web(org.admin)
    html = admin.get("/settings/").content.decode()
    for page in PAGES:
        assert f'href="{page}"' in html, page
    for page in (*PAGES, *FORMS):
        r = admin.get(page)
        assert r.status_code == 200, page
        # the settings layout: the side navigation lists the lead pages too
        assert 'href="/settings/lead-assignment/"' in r.content.decode()


@pytest.mark.parametrize("username", ["sales_rep1", "sales_manager", "marketing", "service_agent", "finance"])
def test_other_preset_roles_get_403_and_see_no_link(org, web, username):
    client = web(getattr(org, username))
    for page in (*PAGES, *FORMS, "/settings/lead-scoring/preview/?lead=1"):
        assert client.get(page).status_code == 403, page
    rule = _rule(name="Urgent", field="urgency", operator="eq", value="high")
    posts = {
        "/settings/lead-scoring/new/": {"name": "x", "points": "5", "kind": "field", "field": "urgency"},
        f"/settings/lead-scoring/{rule.pk}/active/": {},
        f"/settings/lead-scoring/{rule.pk}/delete/": {},
        "/settings/lead-scoring/reorder/": {"order": str(rule.pk)},
        "/settings/lead-assignment/new/": {"name": "x", "priority": "1"},
        "/settings/leads/": {"sla_hours": "1"},
        "/settings/lead-assignment/absences/": {"user": org.sales_rep1.pk, "until": "2099-01-01T09:00"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    rule.refresh_from_db()
    assert rule.active and ScoringRule.objects.count() == 1 and AssignmentRule.objects.count() == 0
    # no link anywhere they look: the home page navigation, the settings overview (403 for them)
    home = client.get("/").content.decode()
    assert "/settings/lead-" not in home and 'href="/settings/leads/"' not in home
    assert client.get("/settings/").status_code == 403


def test_a_role_with_only_lead_manage_gets_only_these_settings(org, web):
    from huoban.platform.identity.models import Role, User

    role = Role.objects.create(
        code="lead_admin",
        name="Lead admin",
        permissions={"lead": ["view", "manage"]},
        scopes={"lead": "own"},
    )
    user = User.objects.create(username="lead_admin", primary_unit=org.units["marketing"])
    user.roles.add(role)
    client = web(user)
    html = client.get("/settings/").content.decode()
    for page in PAGES:
        assert f'href="{page}"' in html
    assert 'href="/settings/users/"' not in html
    assert client.get("/settings/users/").status_code == 403
    assert client.get("/settings/lead-scoring/").status_code == 200
    # absences change users: that needs user management as well
    page = client.get("/settings/lead-assignment/").content.decode()
    assert 'id="absences"' not in page
    r = client.post(
        "/settings/lead-assignment/absences/", {"user": org.sales_rep1.pk, "until": "2099-01-01T09:00"}
    )
    assert r.status_code == 403


# --- scoring rules -------------------------------------------------------------------------------------


def test_admin_creates_edits_toggles_and_deletes_a_scoring_rule(org, web, make_lead):
    admin = web(org.admin)
    r = admin.post(
        "/settings/lead-scoring/new/",
        {
            "name": "Target industries",
            "points": "20",
            "active": "on",
            "kind": "field",
            "field": "industry",
            "operator": "in",
            "value": ["65", "39"],
        },
    )
    assert r.status_code == 302 and r["Location"] == "/settings/lead-scoring/"
    rule = ScoringRule.objects.get(name="Target industries")
    assert (rule.field, rule.operator, rule.value, rule.points, rule.active) == (
        "industry",
        "in",
        ["65", "39"],
        20,
        True,
    )
    assert _audit("lead_scoring_rule", rule.pk, "create")
    # the list shows it with its condition in words and its points
    html = admin.get("/settings/lead-scoring/").content.decode()
    assert "Target industries" in html and "Industry is one of" in html and "+20" in html

    # edit: the form shows the stored values, a save changes them (audited with the diff)
    html = admin.get(f"/settings/lead-scoring/{rule.pk}/").content.decode()
    assert 'value="Target industries"' in html and '<option value="65" selected>' in html
    r = admin.post(
        f"/settings/lead-scoring/{rule.pk}/",
        {"name": "Big budget", "points": "30", "active": "on", "kind": "field", "field": "budget"}
        | {"operator": "gte", "value": "500,000"},
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.field, rule.operator, rule.value, rule.points) == (
        "Big budget",
        "budget",
        "gte",
        500000,
        30,
    )
    update = _audit("lead_scoring_rule", rule.pk, "update")[-1]
    assert update.changes["points"] == [20, 30] and update.changes["field"] == ["industry", "budget"]
    lead = make_lead(org.sales_rep1, budget="800000")
    assert lead.score == 30

    # toggle: off, then on again
    assert admin.post(f"/settings/lead-scoring/{rule.pk}/active/").status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    assert _audit("lead_scoring_rule", rule.pk, "update")[-1].changes["active"] == [True, False]
    lead.refresh_from_db()
    assert lead.score == 0  # rescored without the inactive rule
    assert "Inactive" in admin.get("/settings/lead-scoring/").content.decode()
    admin.post(f"/settings/lead-scoring/{rule.pk}/active/")
    rule.refresh_from_db()
    assert rule.active is True

    # delete
    assert admin.get(f"/settings/lead-scoring/{rule.pk}/delete/").status_code == 405
    r = admin.post(f"/settings/lead-scoring/{rule.pk}/delete/")
    assert r.status_code == 302 and not ScoringRule.objects.filter(pk=rule.pk).exists()
    assert _audit("lead_scoring_rule", rule.pk, "delete")


def test_event_rules_through_the_form(org, web):
    admin = web(org.admin)
    base = {"points": "5", "active": "on", "kind": "event", "field": "industry", "value": "ignored"}
    assert (
        admin.post(
            "/settings/lead-scoring/new/",
            base | {"name": "Opened", "event": "email_opened", "event_operator": "eq"},
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/settings/lead-scoring/new/",
            base | {"name": "Many calls", "event": "call", "event_operator": "gte", "count": "3"},
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/settings/lead-scoring/new/",
            base
            | {
                "name": "Clicked",
                "event": "other",
                "event_other": "Campaign.Clicked",
                "event_operator": "eq",
            },
        ).status_code
        == 302
    )
    assert (
        admin.post(
            "/settings/lead-scoring/new/",
            base | {"name": "Silent", "points": "-10", "event": "inactive_days", "days": "14"},
        ).status_code
        == 302
    )
    got = {r.name: (r.field, r.event, r.operator, r.value, r.points) for r in ScoringRule.objects.all()}
    assert got == {
        "Opened": ("", "email_opened", "eq", None, 5),
        "Many calls": ("", "call", "gte", 3, 5),
        "Clicked": ("", "campaign_clicked", "eq", None, 5),
        "Silent": ("", "inactive_days", "eq", 14, -10),
    }
    # positions follow creation order; the list describes each rule in words
    assert list(ScoringRule.objects.values_list("name", flat=True)) == [
        "Opened",
        "Many calls",
        "Clicked",
        "Silent",
    ]
    html = admin.get("/settings/lead-scoring/").content.decode()
    assert "at least 3 times" in html and "No activity for 14 days" in html
    # editing an event rule shows its event settings again
    silent = ScoringRule.objects.get(name="Silent")
    html = admin.get(f"/settings/lead-scoring/{silent.pk}/").content.decode()
    assert 'name="days" value="14"' in html
    clicked = ScoringRule.objects.get(name="Clicked")
    html = admin.get(f"/settings/lead-scoring/{clicked.pk}/").content.decode()
    assert 'value="campaign_clicked"' in html


def test_scoring_validation_errors_are_field_level_and_keep_the_input(org, web):
    admin = web(org.admin)
    r = admin.post(
        "/settings/lead-scoring/new/",
        {"name": "", "points": "7", "kind": "field", "field": "budget", "operator": "gte", "value": "lots"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert _field_error(html, "name") == "This field is required."
    assert 'name="points" value="7"' in html and 'value="lots"' in html
    # the value is checked once the rest is valid, and shown under the value input
    r = admin.post(
        "/settings/lead-scoring/new/",
        {
            "name": "Budget",
            "points": "7",
            "kind": "field",
            "field": "budget",
            "operator": "gte",
            "value": "lots",
        },
    )
    html = r.content.decode()
    assert r.status_code == 400 and _field_error(html, "rule_value") == "Enter a number."
    assert 'value="Budget"' in html and 'value="lots"' in html
    # a region the platform does not know: the service's message, on the value
    r = admin.post(
        "/settings/lead-scoring/new/",
        {
            "name": "Region",
            "points": "7",
            "kind": "field",
            "field": "region",
            "operator": "eq",
            "value": "Atlantis",
        },
    )
    assert r.status_code == 400 and "Atlantis" in _field_error(r.content.decode(), "rule_value")
    # an event rule without its count
    r = admin.post(
        "/settings/lead-scoring/new/",
        {
            "name": "Calls",
            "points": "1",
            "kind": "event",
            "event": "call",
            "event_operator": "gte",
            "count": "",
        },
    )
    assert r.status_code == 400 and _field_error(r.content.decode(), "count")
    # "is one of" without values, and no field at all
    r = admin.post(
        "/settings/lead-scoring/new/",
        {"name": "Sizes", "points": "1", "kind": "field", "field": "company_size", "operator": "in"},
    )
    assert r.status_code == 400 and _field_error(r.content.decode(), "rule_value")
    r = admin.post("/settings/lead-scoring/new/", {"name": "No field", "points": "1", "kind": "field"})
    assert r.status_code == 400 and _field_error(r.content.decode(), "field") == "Choose a field."
    assert ScoringRule.objects.count() == 0


def test_value_input_follows_the_field_and_condition(org, web):
    admin = web(org.admin)
    html = admin.get("/settings/lead-scoring/value/?field=urgency&operator=in").content.decode()
    assert "multiple" in html and '<option value="high"' in html
    html = admin.get("/settings/lead-scoring/value/?field=budget&operator=gte").content.decode()
    assert 'inputmode="decimal"' in html
    html = admin.get("/settings/lead-scoring/value/?field=phone&operator=is_empty").content.decode()
    assert 'name="value"' not in html
    # "is not empty" is stored as is_empty = false
    r = admin.post(
        "/settings/lead-scoring/new/",
        {"name": "Has email", "points": "3", "kind": "field", "field": "email", "operator": "not_empty"},
    )
    assert r.status_code == 302
    rule = ScoringRule.objects.get(name="Has email")
    assert (rule.operator, rule.value) == ("is_empty", False)
    assert "Email is not empty" in admin.get("/settings/lead-scoring/").content.decode()


def test_reorder_scoring_rules(org, web):
    a = _rule(name="A", field="urgency", operator="eq", value="high", position=0)
    b = _rule(name="B", field="urgency", operator="eq", value="low", position=1)
    c = _rule(name="C", field="urgency", operator="eq", value="medium", position=2)
    admin = web(org.admin)
    r = admin.post(
        "/settings/lead-scoring/reorder/", {"order": f"{c.pk},{a.pk},{b.pk}"}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert list(ScoringRule.objects.order_by("position").values_list("name", flat=True)) == ["C", "A", "B"]
    assert _audit("lead_scoring_rule", c.pk, "update")[-1].changes == {"position": [2, 10]}
    # the arrow buttons (no JavaScript): B one up
    r = admin.post("/settings/lead-scoring/reorder/", {"move": b.pk, "direction": "up"})
    assert r.status_code == 302
    assert list(ScoringRule.objects.order_by("position").values_list("name", flat=True)) == ["C", "B", "A"]
    html = admin.get("/settings/lead-scoring/").content.decode()
    assert html.index(">C</a>") < html.index(">B</a>") < html.index(">A</a>")


def test_preview_shows_the_breakdown_the_rules_give(org, web, make_lead):
    from huoban.leads.services import lead_record_activity

    industries = _rule(name="Target industries", field="industry", operator="in", value=["65"], points=20)
    budget = _rule(name="Big budget", field="budget", operator="gte", value=500000, points=30)
    opened = _rule(name="Opened an email", event="email_opened", points=5)
    _rule(name="Urgent", field="urgency", operator="eq", value="high", points=15, active=False)
    lead = make_lead(org.sales_rep1, industry="65", budget="100000", urgency="high")
    lead_record_activity(actor=org.sales_rep1, lead=lead, event="email_opened")
    admin = web(org.admin)
    r = admin.get(f"/settings/lead-scoring/preview/?lead={lead.pk}", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert "data-hb-preview-total>25<" in html
    rows = dict(re.findall(r'data-hb-rule="(\d+)" data-hb-applies="(\d)"', html))
    assert rows == {str(industries.pk): "1", str(budget.pk): "0", str(opened.pk): "1"}
    assert "Urgent" not in html  # inactive rules give nothing
    # the full page renders the same preview for ?lead= (no JavaScript)
    assert b"data-hb-preview-total>25<" in admin.get(f"/settings/lead-scoring/?lead={lead.pk}").content
    # read through the scoped queryset: a rule admin with "own" scope cannot preview others' leads
    from huoban.platform.identity.models import Role, User

    role = Role.objects.create(
        code="lead_rules", name="Lead rules", permissions={"lead": ["view", "manage"]}, scopes={"lead": "own"}
    )
    user = User.objects.create(username="rules_only")
    user.roles.add(role)
    html = web(user).get(f"/settings/lead-scoring/preview/?lead={lead.pk}").content.decode()
    assert "Lead not found." in html and "data-hb-preview-total" not in html


# --- assignment rules ------------------------------------------------------------------------------------


def test_admin_manages_assignment_rules(org, web):
    admin = web(org.admin)
    r = admin.post(
        "/settings/lead-assignment/new/",
        {
            "name": "Zhejiang web leads",
            "priority": "10",
            "active": "on",
            "region": ["330000"],
            "urgency": ["high", "medium"],
            "source": ["web_form"],
            "min_score": "20",
            "target": "unit",
            "assign_to_unit": org.units["east-sales"].pk,
            "assign_to_user": org.sales_rep1.pk,  # ignored: the target is the team
            "strategy": "least_loaded",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    rule = AssignmentRule.objects.get(name="Zhejiang web leads")
    assert rule.conditions == {
        "region": ["330000"],
        "urgency": ["high", "medium"],
        "source": ["web_form"],
        "min_score": 20,
    }
    assert (rule.assign_to_unit, rule.assign_to_user, rule.strategy) == (
        org.units["east-sales"],
        None,
        "least_loaded",
    )
    assert _audit("lead_assignment_rule", rule.pk, "create")
    html = admin.get("/settings/lead-assignment/").content.decode()
    assert "Zhejiang" in html and "Score at least 20" in html and "East China Sales" in html

    # edit: to a user; the form keeps the other values
    html = admin.get(f"/settings/lead-assignment/{rule.pk}/").content.decode()
    assert '<option value="330000" selected>' in html
    r = admin.post(
        f"/settings/lead-assignment/{rule.pk}/",
        {
            "name": "Zhejiang web leads",
            "priority": "5",
            "active": "on",
            "region": ["330000"],
            "target": "user",
            "assign_to_user": org.sales_rep2.pk,
            "strategy": "round_robin",
        },
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.priority, rule.assign_to_user, rule.assign_to_unit, rule.conditions) == (
        5,
        org.sales_rep2,
        None,
        {"region": ["330000"]},
    )
    assert _audit("lead_assignment_rule", rule.pk, "update")[-1].changes["priority"] == [10, 5]

    # toggle, reorder, delete
    admin.post(f"/settings/lead-assignment/{rule.pk}/active/")
    rule.refresh_from_db()
    assert rule.active is False
    other = AssignmentRule.objects.create(name="Other", priority=1, assign_to_user=org.sales_rep1)
    r = admin.post("/settings/lead-assignment/reorder/", {"order": f"{rule.pk},{other.pk}"})
    assert r.status_code == 302
    assert list(AssignmentRule.objects.order_by("priority").values_list("name", "priority")) == [
        ("Zhejiang web leads", 10),
        ("Other", 20),
    ]
    assert _audit("lead_assignment_rule", other.pk, "update")[-1].changes == {"priority": [1, 20]}
    admin.post("/settings/lead-assignment/reorder/", {"move": other.pk, "direction": "up"})
    assert AssignmentRule.objects.order_by("priority").first() == other
    r = admin.post(f"/settings/lead-assignment/{rule.pk}/delete/")
    assert r.status_code == 302 and not AssignmentRule.objects.filter(pk=rule.pk).exists()
    assert _audit("lead_assignment_rule", rule.pk, "delete")


def test_assignment_validation_is_field_level(org, web):
    admin = web(org.admin)
    data = {
        "name": "Nobody",
        "priority": "3",
        "region": ["330000"],
        "target": "user",
        "strategy": "round_robin",
    }
    r = admin.post("/settings/lead-assignment/new/", data)
    assert r.status_code == 400
    html = r.content.decode()
    assert _field_error(html, "assign_to_user") == "Choose an active user."
    assert 'value="Nobody"' in html and '<option value="330000" selected>' in html
    r = admin.post("/settings/lead-assignment/new/", data | {"target": "unit"})
    assert _field_error(r.content.decode(), "assign_to_unit") == "Choose a team."
    r = admin.post(
        "/settings/lead-assignment/new/",
        data | {"name": " ", "target": "unit", "assign_to_unit": org.units["east-sales"].pk},
    )
    assert r.status_code == 400 and _field_error(r.content.decode(), "name")
    r = admin.post(
        "/settings/lead-assignment/new/", data | {"region": ["999999"], "assign_to_user": org.sales_rep1.pk}
    )
    assert r.status_code == 400 and _field_error(r.content.decode(), "region")
    assert AssignmentRule.objects.count() == 0


def test_absences_are_set_and_ended_from_the_assignment_page(org, web):
    admin = web(org.admin)
    until = (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    r = admin.post("/settings/lead-assignment/absences/", {"user": org.sales_rep1.pk, "until": until})
    assert r.status_code == 302 and r["Location"].endswith("#absences")
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.absent_until > timezone.now()
    assert "absent_until" in _audit("user", org.sales_rep1.pk, "update")[-1].changes
    html = admin.get("/settings/lead-assignment/").content.decode()
    assert str(org.sales_rep1) in html and "End absence" in html
    # a time in the past is refused on the field, the chosen user kept
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = admin.post("/settings/lead-assignment/absences/", {"user": org.sales_rep2.pk, "until": past})
    assert r.status_code == 400
    html = r.content.decode()
    assert _field_error(html, "until") == "Choose a time in the future."
    assert f'<option value="{org.sales_rep2.pk}" selected>' in html
    r = admin.post(f"/settings/lead-assignment/absences/{org.sales_rep1.pk}/end/")
    assert r.status_code == 302
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.absent_until is None


# --- lead settings --------------------------------------------------------------------------------------


def _settings_form(**kw):
    data = {
        "dedup_policy": "attach",
        "name_similarity": "90",
        "sla_hours": "2.5",
        "work_start": "08:30",
        "work_end": "17:30",
        "work_days": ["1", "2", "3", "4", "5", "6"],
        "holidays": "2026-10-01\n2026-10-02",
        "fallback_user": "",
        "fallback_unit": "",
    }
    data.update(kw)
    return data


def test_admin_edits_the_lead_settings(org, web):
    admin = web(org.admin)
    r = admin.post(
        "/settings/leads/",
        _settings_form(fallback_user=org.sales_manager.pk, fallback_unit=org.units["marketing"].pk),
    )
    assert r.status_code == 302
    s = LeadSettings.load()
    assert (s.dedup_policy, s.name_similarity, str(s.sla_hours)) == ("attach", 90, "2.50")
    assert (s.work_start, s.work_end) == (dt.time(8, 30), dt.time(17, 30))
    assert s.work_days == [1, 2, 3, 4, 5, 6] and s.holidays == ["2026-10-01", "2026-10-02"]
    assert s.fallback_user == org.sales_manager and s.fallback_unit == org.units["marketing"]
    event = _audit("lead_settings", s.pk, "update")[-1]
    assert event.changes["dedup_policy"] == ["warn", "attach"]
    html = admin.get("/settings/leads/").content.decode()
    assert 'value="attach"' in html and "2026-10-01" in html and 'value="08:30"' in html


def test_lead_settings_validation_keeps_the_input(org, web):
    admin = web(org.admin)
    r = admin.post("/settings/leads/", _settings_form(work_end="08:00", holidays="2026-10-01\nnext friday"))
    assert r.status_code == 400
    html = r.content.decode()
    # both problems at once, each on its field, the input kept
    assert _field_error(html, "holidays") == "Not a date (YYYY-MM-DD): next friday"
    assert _field_error(html, "work_end") == "The working day must end after it starts."
    assert "next friday" in html and 'value="2.5"' in html and 'value="08:00"' in html
    r = admin.post("/settings/leads/", _settings_form(sla_hours="0"))
    assert r.status_code == 400 and _field_error(r.content.decode(), "sla_hours")
    assert LeadSettings.load().dedup_policy == "warn"


# --- re-running assignment on selected leads (the lead list's bulk action) -------------------------------


def test_bulk_action_reruns_assignment_on_selected_leads(org, web, make_lead):
    from huoban.leads.services import assignment_rule_save

    lead_a = make_lead(org.sales_rep1, region="330000")
    lead_b = make_lead(org.sales_rep1, region="110000")
    assert lead_a.owner == org.sales_rep1
    assignment_rule_save(
        actor=org.admin,
        rule=None,
        data={"name": "Zhejiang", "conditions": {"region": ["330000"]}, "assign_to_user": org.sales_rep2},
    )
    manager = web(org.sales_manager)
    html = manager.get("/leads/").content.decode()
    assert "assign_rules" in html and "Run assignment rules" in html
    r = manager.post("/leads/bulk/", {"action": "assign_rules", "ids": [lead_a.pk, lead_b.pk]})
    assert r.status_code in (200, 302)
    lead_a.refresh_from_db()
    lead_b.refresh_from_db()
    assert lead_a.owner == org.sales_rep2 and lead_b.owner == org.sales_rep1
    assert _audit("lead", lead_a.pk, "assign")
    # a rep may not re-run assignment
    assert (
        web(org.sales_rep1).post("/leads/bulk/", {"action": "assign_rules", "ids": [lead_b.pk]}).status_code
        == 403
    )


def test_looking_at_the_pages_writes_nothing(org, web, make_lead):
    """Looking at the pages (list, preview) changes nothing: no audit entry, no score write."""
    make_lead(org.sales_rep1)
    admin = web(org.admin)  # the login itself is audited
    before = (AuditEvent.objects.count(), list(Lead.objects.unrestricted().values_list("score", flat=True)))
    for page in PAGES:
        admin.get(page)
    admin.get(f"/settings/lead-scoring/preview/?lead={Lead.objects.unrestricted().first().pk}")
    after = (AuditEvent.objects.count(), list(Lead.objects.unrestricted().values_list("score", flat=True)))
    assert before == after
