"""Opportunity pages, the board per pipeline, report pages."""

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


def test_opportunity_pages_and_board(org, web, make_opp, stages, pipeline):
    opp = make_opp(org.sales_rep1, amount="5000")
    rep = web(org.sales_rep1)
    assert rep.get("/opportunities/").status_code == 200
    assert rep.get("/opportunities/new/").status_code == 200
    r = rep.get(f"/opportunities/{opp.pk}/")
    assert r.status_code == 200
    assert rep.get(f"/opportunities/{opp.pk}/tab/stages/").status_code == 200
    r = rep.get(f"/opportunities/board/?pipeline={pipeline.pk}")
    assert r.status_code == 200
    body = r.content.decode()
    assert "需求确认" in body or "Needs confirmed" in body
    assert opp.name in body
    # moving a card through the board posts to the service: refused without the required amount
    opp2 = make_opp(org.sales_rep1)
    r = rep.post(
        "/opportunities/board/move/", {"id": opp2.pk, "to": stages["proposal"].pk, "version": opp2.version}
    )
    assert r.status_code == 400 and r.json()["ok"] is False
    r = rep.post(
        "/opportunities/board/move/", {"id": opp.pk, "to": stages["proposal"].pk, "version": opp.version}
    )
    assert r.status_code == 200 and r.json()["ok"] is True
    assert web(org.marketing).get("/opportunities/").status_code == 403
    # board filters: owner, unit (with the units below), close date
    north = make_opp(org.sales_rep3, name="北方商机")
    mgr = web(org.admin)
    body = mgr.get(f"/opportunities/board/?owner_unit={org.units['north'].pk}").content.decode()
    assert "北方商机" in body and opp.name not in body
    body = mgr.get(f"/opportunities/board/?owner={org.sales_rep1.pk}").content.decode()
    assert north.name not in body and opp.name in body
    body = mgr.get("/opportunities/board/?close_date__from=2099-01-01").content.decode()
    assert opp.name not in body


def test_report_pages(org, web, make_opp):
    make_opp(org.sales_rep1, amount="1000")
    rep = web(org.sales_rep1)
    for url in ("/reports/funnel/", "/reports/forecast/?period=quarter&group=unit", "/reports/sales/"):
        r = rep.get(url)
        assert r.status_code == 200, url
        assert b"<script>" not in r.content  # CSP: no inline scripts
    r = rep.get("/reports/funnel/")
    assert b'id="hb-funnel-data"' in r.content and b"echarts.min.js" in r.content
    assert web(org.service_agent).get("/reports/funnel/").status_code == 403
    from huoban.sales.periodic import generate_sales_reports

    generate_sales_reports(kind="monthly", deliver=False)
    from huoban.sales.models import SalesReport

    report = SalesReport.objects.filter(user=org.sales_rep1).first()
    assert rep.get(f"/reports/sales/{report.pk}/").status_code == 200
    r = rep.get(f"/reports/sales/{report.pk}/export/?type=xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert web(org.sales_rep3).get(f"/reports/sales/{report.pk}/").status_code == 404


def test_pipeline_settings_page(org, web, pipeline):
    from huoban.sales.models import Pipeline

    assert web(org.sales_manager).get("/settings/pipelines/").status_code == 403
    admin = web(org.admin)
    r = admin.get("/settings/pipelines/")
    assert r.status_code == 200 and "方案报价".encode() in r.content
    r = admin.post(
        "/settings/pipelines/new/",
        {"code": "renewals", "name": "Renewals", "name_zh_hans": "续约", "active": "1"},
    )
    assert r.status_code == 302
    renewals = Pipeline.objects.get(code="renewals")
    assert renewals.stages.count() == pipeline.stages.filter(active=True).count()
    stages = list(renewals.stages.order_by("position"))
    post = {"name": "Renewals", "name_zh_hans": "续约", "active": "1", "stage_count": str(len(stages))}
    for i, s in enumerate(stages):
        post.update(
            {
                f"s{i}-id": s.pk,
                f"s{i}-code": s.code,
                f"s{i}-name": s.name,
                f"s{i}-name_zh_hans": s.name_zh_hans,
                f"s{i}-type": s.type,
                f"s{i}-probability": s.probability,
                f"s{i}-position": i + 1,
                f"s{i}-required_fields": ", ".join(s.required_fields),
                f"s{i}-active": "1",
            }
        )
    post[f"s{len(stages)}-name"] = "Signed"
    post[f"s{len(stages)}-position"] = "3"
    post[f"s{len(stages)}-probability"] = "90"
    post[f"s{len(stages)}-active"] = "1"
    post[f"s{len(stages)}-required_fields"] = "amount, close_date"
    r = admin.post(f"/settings/pipelines/{renewals.pk}/", post)
    assert r.status_code == 302, r.content[:500]
    names = list(renewals.stages.filter(active=True).order_by("position").values_list("name", flat=True))
    assert names.index("Signed") == 3  # after the stage that already had position 3
    # an invalid stage list is refused with the reason
    post["s0-required_fields"] = "salary"
    r = admin.post(f"/settings/pipelines/{renewals.pk}/", post)
    assert r.status_code == 200
