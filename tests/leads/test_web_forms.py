"""Web-to-lead forms: admin API, embeddable snippet, public submission (JSON / form), honeypot,
required fields, rate limit."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from huoban.leads.models import Lead, WebForm


@pytest.fixture
def form(org, api):
    r = api(org.marketing).post(
        "/api/v1/web-forms/",
        {
            "name": "官网试用申请",
            "title": "申请免费试用",
            "fields": ["name", "company", "phone", "email", "region", "requirement"],
            "required_fields": ["name", "phone"],
            "source": "web_form",
            "thank_you_text": "感谢您的申请，我们会尽快联系您。",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    return r.json()


def test_form_admin_and_snippet(org, api, form):
    assert form["key"] and form["public_url"].endswith(f"/forms/{form['key']}/")
    snippet = form["snippet"]
    assert f'action="{form["public_url"]}"' in snippet
    assert 'name="homepage"' in snippet and 'name="phone"' in snippet and "required" in snippet
    bad = api(org.marketing).post(
        "/api/v1/web-forms/", {"name": "x", "fields": ["name", "salary"]}, format="json"
    )
    assert bad.status_code == 400 and "fields" in bad.json()
    bad = api(org.marketing).post(
        "/api/v1/web-forms/",
        {"name": "x", "fields": ["name", "phone"], "required_fields": ["email"]},
        format="json",
    )
    assert bad.status_code == 400
    # sales reps have no web form permission at all
    assert api(org.sales_rep1).get("/api/v1/web-forms/").status_code == 403


def test_public_json_submission(org, form):
    client = APIClient()
    r = client.post(
        f"/forms/{form['key']}/",
        {
            "name": "访客",
            "company": "成都天府软件有限公司",
            "phone": "13811112222",
            "region": "四川",
            "salary": "x",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["ok"] is True and "感谢" in r.json()["message"]
    lead = Lead.objects.unrestricted().get()
    assert lead.source == "web_form" and lead.web_form_id == form["id"] and lead.region == "510000"
    assert lead.owner is None  # no rule matched: the fallback queue
    assert lead.activities.filter(event="form_submitted").exists()
    assert WebForm.objects.unrestricted().get(pk=form["id"]).submission_count == 1
    # a second submission with the same phone does not raise a duplicate error on the public form
    r = client.post(f"/forms/{form['key']}/", {"name": "访客", "phone": "13811112222"}, format="json")
    assert r.status_code == 201


def test_public_form_encoded_submission_renders_pages(org, form, client):
    page = client.get(f"/forms/{form['key']}/")
    assert page.status_code == 200 and b'name="homepage"' in page.content
    assert b"<script" not in page.content and b"style=" not in page.content
    r = client.post(f"/forms/{form['key']}/", {"name": "表单访客", "phone": "13922223333"})
    assert r.status_code == 200 and "感谢您的申请".encode() in r.content
    assert Lead.objects.unrestricted().filter(name="表单访客").exists()
    r = client.post(f"/forms/{form['key']}/", {"name": "", "phone": ""})
    assert r.status_code == 400 and b"hb-error" in r.content


def test_honeypot_and_validation(org, form):
    client = APIClient()
    r = client.post(
        f"/forms/{form['key']}/",
        {"name": "bot", "phone": "13800000000", "homepage": "http://spam"},
        format="json",
    )
    assert r.status_code == 201
    assert not Lead.objects.unrestricted().exists()
    r = client.post(f"/forms/{form['key']}/", {"company": "只有公司"}, format="json")
    assert r.status_code == 400 and set(r.json()) >= {"name", "phone"}
    assert client.post("/forms/nope/", {"name": "x"}, format="json").status_code == 404
    WebForm.objects.unrestricted().filter(pk=form["id"]).update(active=False)
    assert (
        client.post(
            f"/forms/{form['key']}/", {"name": "x", "phone": "13800000001"}, format="json"
        ).status_code
        == 404
    )


def test_public_submission_is_rate_limited(org, form, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "webform": "2/min"}
    )
    client = APIClient()
    codes = [
        client.post(
            f"/forms/{form['key']}/", {"name": f"r{i}", "phone": f"1380000000{i}"}, format="json"
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    cache.clear()
