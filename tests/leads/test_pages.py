"""Lead and web form pages (generic record pages) and the lead tab actions."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def web(org):
    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


def test_lead_pages_render(org, web, make_lead):
    lead = make_lead(org.sales_rep1, budget="600000", requirement="需要 CRM")
    rep = web(org.sales_rep1)
    r = rep.get("/leads/")
    assert r.status_code == 200 and lead.name.encode() in r.content
    assert rep.get("/leads/?status=new&sla=1").status_code == 200
    assert rep.get("/leads/new/").status_code == 200
    r = rep.get(f"/leads/{lead.pk}/")
    assert r.status_code == 200
    for tab in ("score", "follow_ups", "files", "convert", "timeline", "history"):
        assert rep.get(f"/leads/{lead.pk}/tab/{tab}/").status_code == 200, tab
    # out of scope: 404; no permission at all: 403
    assert web(org.sales_rep3).get(f"/leads/{lead.pk}/").status_code == 404
    assert web(org.finance).get("/leads/").status_code == 403
    r = web(org.sales_rep1).get("/")
    assert r.status_code == 200


def test_create_lead_through_the_form(org, web):
    rep = web(org.sales_rep1)
    r = rep.post(
        "/leads/new/",
        {
            "name": "表单线索",
            "company": "南昌赣江光电有限公司",
            "phone": "13700001234",
            "urgency": "high",
            "status": "new",
            "currency": "CNY",
        },
    )
    assert r.status_code in (302, 303), r.content[:2000]
    from huoban.leads.models import Lead

    lead = Lead.objects.unrestricted().get(name="表单线索")
    assert lead.phone == "+8613700001234" and lead.owner == org.sales_rep1


def test_follow_up_and_convert_from_the_tabs(org, web, make_lead):
    lead = make_lead(org.sales_rep1, company="昆明滇池生物科技有限公司")
    rep = web(org.sales_rep1)
    r = rep.post(
        f"/leads/{lead.pk}/follow-ups/", {"type": "call", "content": "电话沟通", "result": "following"}
    )
    assert r.status_code == 302 and r["Location"].endswith("?tab=follow_ups")
    lead.refresh_from_db()
    assert lead.status == "contacted"
    r = rep.post(f"/leads/{lead.pk}/convert/", {"create_opportunity": "1", "opportunity_amount": "1000"})
    assert r.status_code == 302 and r["Location"].startswith("/opportunities/")
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_opportunity_id
    # other users cannot act on it
    assert web(org.sales_rep2).post(f"/leads/{lead.pk}/follow-ups/", {"content": "x"}).status_code == 404


def test_web_form_pages(org, web):
    from huoban.leads.services import web_form_create

    form = web_form_create(actor=org.marketing, data={"name": "官网表单", "fields": ["name", "phone"]})
    mk = web(org.marketing)
    assert mk.get("/web-forms/").status_code == 200
    r = mk.get(f"/web-forms/{form.pk}/tab/embed/")
    assert r.status_code == 200 and f"/forms/{form.key}/".encode() in r.content
    assert web(org.sales_rep1).get("/web-forms/").status_code == 403


def test_lead_list_page_query_count(org, web, make_lead, django_assert_max_num_queries):
    """Picklist labels (source, industry) and regions in the list cost no query per row."""
    for i in range(25):
        make_lead(org.sales_rep1, source=["web_form", "referral"][i % 2], industry="I", region="330100")
    client = web(org.sales_manager)
    cols = "name,company,status,score,source,region,industry,owner,budget"
    client.get(f"/leads/?columns={cols}")
    with django_assert_max_num_queries(20):
        r = client.get(f"/leads/?columns={cols}&page_size=50")
    assert r.status_code == 200


def test_web_form_help_text_follows_the_page_language(org, web):
    """The help text is formatted when shown, not at import (where it would freeze in English)."""
    client = web(org.admin)
    assert b"A JSON list of lead fields" in client.get("/web-forms/new/").content
    body = client.get("/web-forms/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "线索字段的 JSON 列表" in body and "requirement" in body


def test_new_leads_key_figure(org, web):
    assert b"New leads" in web(org.sales_rep1).get("/").content
    assert b"New leads" not in web(org.finance).get("/").content
