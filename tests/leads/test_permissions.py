"""Permission matrices: leads and web forms × every preset role × own / same unit / other unit."""

from __future__ import annotations

import uuid

from tests.permissions import (
    ALL_ACCESS,
    NO_ACCESS,
    OWN_NO_DELETE,
    OWN_ONLY_NO_DELETE,
    UNIT_TREE_FULL,
    check_matrix,
)


def make_lead(owner):
    from huoban.leads.services import lead_create

    return lead_create(
        actor=owner, data={"name": f"Matrix {uuid.uuid4().hex[:8]}", "owner": owner}, dedup_policy="create"
    )


def make_form(owner):
    from huoban.leads.services import web_form_create
    from huoban.platform.records.services import record_transfer

    form = web_form_create(
        actor=owner, data={"name": f"Form {uuid.uuid4().hex[:8]}", "fields": ["name", "phone"]}
    )
    if form.owner_id != owner.pk:
        record_transfer(actor=owner, objs=[form], new_owner=owner)
    return form


ALL_NO_DELETE = {"own": OWN_NO_DELETE, "same_unit": OWN_NO_DELETE, "other_unit": OWN_NO_DELETE}

LEADS = {
    "sales_rep1": OWN_ONLY_NO_DELETE,
    "sales_rep2": OWN_ONLY_NO_DELETE,
    "sales_rep3": OWN_ONLY_NO_DELETE,
    "sales_manager": UNIT_TREE_FULL,
    "sales_manager_north": UNIT_TREE_FULL,
    "service_agent": NO_ACCESS,
    "marketing": ALL_NO_DELETE,
    "finance": NO_ACCESS,
    "admin": ALL_ACCESS,
}

WEB_FORMS = {
    "sales_rep1": NO_ACCESS,
    "sales_manager": NO_ACCESS,
    "service_agent": NO_ACCESS,
    "marketing": ALL_ACCESS,
    "finance": NO_ACCESS,
    "admin": ALL_ACCESS,
}


def test_lead_permission_matrix(org):
    check_matrix(org, resource="leads", factory=make_lead, expected=LEADS)


def test_web_form_permission_matrix(org):
    check_matrix(org, resource="web-forms", factory=make_form, expected=WEB_FORMS)


def test_lead_actions_respect_scope(org, api):
    lead = make_lead(org.sales_rep3)
    rep1 = api(org.sales_rep1)
    for path in ("convert/", "follow-ups/", "events/", "attachments/"):
        assert rep1.post(f"/api/v1/leads/{lead.pk}/{path}", {}, format="json").status_code == 404
    assert rep1.get(f"/api/v1/leads/{lead.pk}/activities/").status_code == 404
    # the north manager sees his rep's lead; the east manager does not
    assert api(org.sales_manager_north).get(f"/api/v1/leads/{lead.pk}/").status_code == 200
    assert api(org.sales_manager).get(f"/api/v1/leads/{lead.pk}/").status_code == 404
    assert api(org.service_agent).get("/api/v1/lead-scoring-rules/").status_code == 403
    assert api(org.sales_rep1).get("/api/v1/lead-settings/").status_code == 200
    assert (
        api(org.sales_rep1).patch("/api/v1/lead-settings/", {"sla_hours": "2"}, format="json").status_code
        == 403
    )
    r = api(org.admin).patch(
        "/api/v1/lead-settings/", {"sla_hours": "2", "work_days": [1, 2, 3, 4, 5, 6]}, format="json"
    )
    assert r.status_code == 200 and r.json()["work_days"] == [1, 2, 3, 4, 5, 6]


def test_lead_list_query_count(org, api, django_assert_max_num_queries):
    for _ in range(30):
        make_lead(org.sales_rep1)
    client = api(org.sales_manager)
    client.get("/api/v1/leads/")  # warm caches (content types, grants)
    with django_assert_max_num_queries(12):
        r = client.get("/api/v1/leads/?page_size=50")
    assert r.status_code == 200 and r.json()["count"] == 30
