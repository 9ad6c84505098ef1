"""Lead capture through the API: normalisation, validation, statuses, dedup policies."""

from __future__ import annotations

from huoban.leads.models import Lead, LeadSettings
from huoban.platform.notifications.models import Notification


def test_create_normalises_and_numbers(org, api):
    rep = api(org.sales_rep1)
    for region in ("330000", "浙江", "浙江省", "Zhejiang"):
        r = rep.post(
            "/api/v1/leads/",
            {"name": f"王{region}", "company": f"{region}公司", "phone": "", "region": region},
            format="json",
        )
        assert r.status_code == 201, r.content
        assert r.json()["region"] == "330000"
    r = rep.post(
        "/api/v1/leads/",
        {
            "name": "李雷",
            "phone": "138 0013 8000",
            "email": "Li@Example.COM",
            "budget": "500000",
            "urgency": "high",
        },
        format="json",
    )
    body = r.json()
    assert r.status_code == 201, body
    assert body["phone"] == "+8613800138000"
    assert body["email"] == "Li@example.com"
    assert body["number"].startswith("LEAD")
    assert body["status"] == "new"
    assert body["budget"] == "500000.00"
    assert body["dedup"]["outcome"] == "created"


def test_create_field_errors(org, api):
    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/leads/", {"phone": "12"}, format="json")
    assert r.status_code == 400
    assert "phone" in r.json() and "name" in r.json()
    r = rep.post("/api/v1/leads/", {"name": "x", "region": "Atlantis", "source": "nowhere"}, format="json")
    assert r.status_code == 400
    assert set(r.json()) >= {"region", "source"}
    r = rep.post("/api/v1/leads/", {"name": "x", "status": "converted"}, format="json")
    assert r.status_code == 400


def test_source_accepts_codes_and_labels(org, api):
    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/leads/", {"name": "展会客户", "source": "展会"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "exhibition"
    r = rep.post("/api/v1/leads/", {"name": "表单客户", "source": "web_form"}, format="json")
    assert r.json()["source"] == "web_form"


def test_status_transitions(org, api, make_lead):
    lead = make_lead(org.sales_rep1)
    rep = api(org.sales_rep1)
    url = f"/api/v1/leads/{lead.pk}/"
    r = rep.patch(url, {"status": "contacted"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["first_contacted_at"] is not None
    r = rep.patch(url, {"status": "unqualified"}, format="json")
    assert r.status_code == 400 and "unqualified_reason" in r.json()
    r = rep.patch(url, {"status": "unqualified", "unqualified_reason": "no budget"}, format="json")
    assert r.status_code == 200
    r = rep.patch(url, {"status": "converted"}, format="json")
    assert r.status_code == 400
    r = rep.patch(url, {"owner": org.sales_rep2.pk}, format="json")
    assert r.status_code == 400 and "owner" in r.json()


def test_warn_policy_refuses_duplicates_until_confirmed(org, api, make_lead):
    existing = make_lead(org.sales_rep2, phone="13900139000", company="杭州云帆网络科技有限公司")
    marketing = api(org.marketing)
    payload = {"name": "新客户", "phone": "139-0013-9000"}
    r = marketing.post("/api/v1/leads/", payload, format="json")
    assert r.status_code == 409
    dups = r.json()["duplicates"]
    assert dups[0]["object_type"] == "lead" and dups[0]["id"] == existing.pk and "phone" in dups[0]["reasons"]
    assert Lead.objects.unrestricted().count() == 1
    r = marketing.post("/api/v1/leads/", {**payload, "confirm_duplicate": True}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["duplicate_of"] == existing.pk
    assert r.json()["dedup"]["outcome"] == "duplicate_created"
    # the owner of the existing lead is told
    assert Notification.objects.filter(recipient=org.sales_rep2, verb="lead.duplicate").exists()


def test_similar_company_name_matches_leads_and_customers(org, api, make_lead, make_customer):
    make_lead(org.sales_rep2, company="北京华信软件技术有限公司")
    customer = make_customer(org.sales_rep3, name="上海明远贸易有限公司")
    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/leads/", {"name": "甲", "company": "华信软件技术(北京)有限公司"}, format="json")
    assert r.status_code == 409
    assert r.json()["duplicates"][0]["object_type"] == "lead"
    r = rep.post("/api/v1/leads/", {"name": "乙", "company": "明远贸易有限公司"}, format="json")
    assert r.status_code == 409
    assert any(d["object_type"] == "customer" and d["id"] == customer.pk for d in r.json()["duplicates"])


def test_attach_policy_adds_to_existing_lead(org, api, make_lead):
    settings = LeadSettings.load()
    settings.dedup_policy = "attach"
    settings.save()
    existing = make_lead(org.sales_rep2, email="buyer@acme.cn", requirement="需要CRM")
    r = api(org.marketing).post(
        "/api/v1/leads/",
        {"name": "Buyer", "email": "BUYER@acme.cn", "title": "采购经理", "requirement": "预算50万"},
        format="json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == existing.pk and body["dedup"]["outcome"] == "attached"
    existing.refresh_from_db()
    assert existing.title == "采购经理"
    assert "预算50万" in existing.requirement and "需要CRM" in existing.requirement
    assert existing.activities.filter(event="resubmitted").exists()
    assert Lead.objects.unrestricted().count() == 1


def test_attach_policy_links_matched_customer(org, make_customer):
    from huoban.leads.services import lead_create

    customer = make_customer(org.sales_rep3, name="深圳前海星辰科技有限公司", phone="13700137000")
    lead = lead_create(
        actor=org.marketing, data={"name": "丙", "phone": "13700137000"}, dedup_policy="attach"
    )
    assert lead.matched_customer_id == customer.pk
    assert Notification.objects.filter(recipient=org.sales_rep3, verb="lead.duplicate").exists()


def test_create_policy_saves_anyway(org, make_lead):
    from huoban.leads.services import lead_create

    make_lead(org.sales_rep1, phone="13600136000")
    lead = lead_create(
        actor=org.sales_rep1, data={"name": "丁", "phone": "13600136000"}, dedup_policy="create"
    )
    assert lead.duplicate_of_id is not None


def test_duplicates_action(org, api, make_lead):
    a = make_lead(org.sales_rep1, phone="13500135000")
    b = make_lead(org.sales_rep1, phone="13500135000")
    r = api(org.sales_rep1).get(f"/api/v1/leads/{b.pk}/duplicates/")
    assert r.status_code == 200
    assert [d["id"] for d in r.json()["duplicates"] if d["object_type"] == "lead"] == [a.pk]


def test_bulk_create_for_imports(org):
    from huoban.leads.services import lead_bulk_create

    rows = [
        {"name": "导入一", "phone": "13100131001", "region": "江苏", "tags": ["import"]},
        {"name": "导入二", "phone": "bad"},
        {"name": "导入三", "phone": "13100131001"},  # same as row 1 → duplicate under "warn"
        {"company": "导入四公司", "email": "x@y.cn", "custom_fields": {}},
    ]
    result = lead_bulk_create(actor=org.marketing, rows=rows, dedup_policy="warn")
    assert result["created"] == 2
    assert [e["row"] for e in result["errors"]] == [2]
    assert [d["row"] for d in result["duplicates"]] == [3]
    leads = Lead.objects.unrestricted().filter(pk__in=result["ids"]).order_by("pk")
    assert [lead.source for lead in leads] == ["import", "import"]
    assert leads[0].region == "320000" and leads[0].tag_names == ["import"]
    assert all(lead.number.startswith("LEAD") for lead in leads)
    from huoban.platform.audit.models import AuditEvent

    assert AuditEvent.objects.filter(object_type="lead", action="create").count() == 2
