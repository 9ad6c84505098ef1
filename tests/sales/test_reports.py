"""Funnel, forecast (numbers behind the charts) and the periodic sales reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from huoban.sales.models import SalesReport, SalesSettings


@pytest.fixture
def data(org, make_opp, stages):
    from huoban.leads.services import lead_convert, lead_create
    from huoban.sales.services import opportunity_move

    rep1, rep3 = org.sales_rep1, org.sales_rep3
    today = timezone.localdate()
    later = today + dt.timedelta(days=35)
    leads = [
        lead_create(actor=rep1, data={"name": f"漏斗{i}", "source": src}, dedup_policy="create")
        for i, src in enumerate(["web_form", "web_form", "web_form", "referral", "referral"])
    ]
    conv = lead_convert(actor=rep1, lead=leads[0], create_opportunity=True, opportunity={"amount": 1000})
    lead_convert(actor=rep1, lead=leads[3])
    o1 = make_opp(rep1, amount=100, close_date=today)
    o2 = make_opp(rep1, amount=200, close_date=today, forecast_category="commit")
    o3 = make_opp(rep1, amount=300, close_date=today)
    o4 = make_opp(rep1, amount=400, close_date=today)
    o5 = make_opp(rep3, amount=500, close_date=later, forecast_category="best_case")
    opportunity_move(actor=rep1, opportunity=o2, stage=stages["proposal"])
    for code in ("proposal", "negotiation", "won"):
        opportunity_move(actor=rep1, opportunity=o3, stage=stages[code])
    opportunity_move(actor=rep1, opportunity=o4, stage=stages["proposal"])
    opportunity_move(actor=rep1, opportunity=o4, stage=stages["lost"], data={"close_reason": "competitor"})
    return {"today": today, "later": later, "opp_a": conv["opportunity"], "o": [o1, o2, o3, o4, o5]}


def test_funnel(org, api, data):
    r = api(org.admin).get("/api/v1/reports/funnel/")
    assert r.status_code == 200, r.content
    f = r.json()
    assert f["leads"]["total"] == 5 and f["leads"]["converted"] == 2 and f["leads"]["with_opportunity"] == 1
    assert f["leads"]["lead_to_opportunity"] == 20.0 and f["warnings"] == []
    o = f["opportunities"]
    assert (o["total"], o["open"], o["won"], o["lost"], o["won_amount"]) == (6, 4, 1, 1, "300.00")
    assert o["win_rate"] == 50.0
    stages = {s["code"]: s for s in f["stages"]}
    assert [s["code"] for s in f["stages"]] == ["needs_confirmed", "proposal", "negotiation", "won"]
    assert (
        stages["needs_confirmed"]["reached"],
        stages["proposal"]["reached"],
        stages["negotiation"]["reached"],
    ) == (6, 3, 1)
    assert stages["needs_confirmed"]["amount"] == "2500.00"
    assert stages["proposal"]["conversion_from_previous"] == 50.0
    assert stages["negotiation"]["conversion_from_previous"] == 33.3
    assert stages["won"]["reached"] == 1 and stages["won"]["conversion_from_previous"] == 100.0
    assert stages["needs_confirmed"]["stays"] == 3 and stages["needs_confirmed"]["avg_days"] == 0.0
    by_source = {s["source"]: s for s in f["by_source"]}
    assert by_source["web_form"]["leads"] == 3 and by_source["web_form"]["opportunities"] == 1
    assert by_source["referral"]["converted"] == 1
    # filters: source, unit (with the units below), owner; and the caller's scope
    f = api(org.admin).get("/api/v1/reports/funnel/?source=web_form").json()
    assert f["leads"]["total"] == 3 and f["opportunities"]["total"] == 1
    f = api(org.admin).get(f"/api/v1/reports/funnel/?unit={org.units['north'].pk}").json()
    assert f["leads"]["total"] == 0 and f["opportunities"]["total"] == 1
    f = api(org.sales_rep1).get("/api/v1/reports/funnel/").json()
    assert f["opportunities"]["total"] == 5
    f = api(org.sales_manager_north).get("/api/v1/reports/funnel/").json()
    assert f["opportunities"]["total"] == 1 and f["leads"]["total"] == 0
    # period
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    f = api(org.admin).get(f"/api/v1/reports/funnel/?from={tomorrow}&to={tomorrow}").json()
    assert f["opportunities"]["total"] == 0
    # the warning threshold is configurable
    s = SalesSettings.load()
    s.funnel_warning_threshold = 30
    s.save()
    f = api(org.admin).get("/api/v1/reports/funnel/").json()
    assert f["warnings"][0]["code"] == "low_lead_conversion"
    assert api(org.admin).get("/api/v1/reports/funnel/?from=2026-13-01").status_code == 400
    assert api(org.service_agent).get("/api/v1/reports/funnel/").status_code == 403


def _quarter(day):
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def test_forecast(org, api, data):
    today, later = data["today"], data["later"]
    frm, to = (today - dt.timedelta(days=200)).isoformat(), (today + dt.timedelta(days=200)).isoformat()
    r = api(org.admin).get(f"/api/v1/reports/forecast/?period=quarter&from={frm}&to={to}")
    assert r.status_code == 200, r.content
    fc = r.json()
    t = fc["totals"]
    assert (t["pipeline"], t["weighted"], t["commit"], t["best_case"], t["closed_won"]) == (
        "800.00",
        "140.00",
        "200.00",
        "700.00",
        "300.00",
    )
    assert t["win_rate"] == 50.0
    periods = {p["period"]: p for p in fc["periods"]}
    assert periods[_quarter(today)]["closed_won"] == "300.00"
    assert sum(float(p["pipeline"]) for p in fc["periods"]) == 800.0
    assert _quarter(later) in periods
    groups = {g["owner"]["username"]: g for g in fc["groups"]}
    rep1 = groups["sales_rep1"]
    assert (
        rep1["pipeline"] == "300.00" and rep1["win_rate"] == 50.0 and rep1["expected_by_win_rate"] == "150.00"
    )
    assert rep1["won_closed"] == [1, 2]
    assert groups["sales_rep3"]["win_rate"] is None
    # by month, grouped by unit, filtered by owner / unit; reps see their own numbers only
    fc = api(org.admin).get(f"/api/v1/reports/forecast/?period=month&from={frm}&to={to}&group=unit").json()
    assert {g["owner_unit"]["id"] for g in fc["groups"]} == {
        org.units["east-sales"].pk,
        org.units["north-sales"].pk,
    }
    assert len(fc["periods"]) >= 13
    fc = api(org.admin).get(f"/api/v1/reports/forecast/?from={frm}&to={to}&owner={org.sales_rep3.pk}").json()
    assert fc["totals"]["pipeline"] == "500.00"
    fc = api(org.sales_rep3).get(f"/api/v1/reports/forecast/?from={frm}&to={to}").json()
    assert fc["totals"]["pipeline"] == "500.00" and fc["totals"]["closed_won"] == "0.00"
    assert api(org.admin).get("/api/v1/reports/forecast/?period=week").status_code == 400


def test_periodic_sales_reports(org, api, data):
    from huoban.sales.periodic import generate_sales_reports

    mail.outbox.clear()
    when = timezone.localdate() + dt.timedelta(days=7)  # "last week" = this week
    assert generate_sales_reports(kind="weekly", today=when)["created"] > 0
    again = generate_sales_reports(kind="weekly", today=when)
    assert again["created"] == 0  # idempotent: refreshed, not duplicated
    rep1 = SalesReport.objects.get(kind="weekly", user=org.sales_rep1)
    m = rep1.data["metrics"]
    assert (m["new_leads"], m["converted_leads"], m["new_opportunities"], m["stage_moves"]) == (5, 2, 5, 6)
    assert (m["won"], m["won_amount"], m["lost"]) == (1, "300.00", 1)
    assert m["forecast_change"] is None
    east = SalesReport.objects.get(kind="weekly", unit=org.units["east"])
    assert east.data["metrics"]["new_opportunities"] == 5
    hq = SalesReport.objects.get(kind="weekly", unit=org.units["hq"])
    assert hq.data["metrics"]["new_opportunities"] == 6
    # delivered to the inbox and by email (reps and unit managers)
    assert org.sales_rep1.notifications.filter(verb="sales.report").exists()
    assert org.sales_manager.notifications.filter(verb="sales.report").exists()
    assert any(org.sales_rep1.email in msg.to for msg in mail.outbox)
    # the next week's report shows the forecast change
    generate_sales_reports(kind="weekly", today=when + dt.timedelta(days=7))
    nxt = SalesReport.objects.filter(kind="weekly", user=org.sales_rep1).order_by("-period_start").first()
    assert nxt.data["metrics"]["forecast_change"] == "0.00"

    # visibility follows the opportunity scope
    def ids(user):
        return {r["id"] for r in api(user).get("/api/v1/sales-reports/?page_size=500").json()["results"]}

    assert rep1.pk in ids(org.sales_rep1)
    assert all(r.user_id == org.sales_rep1.pk for r in SalesReport.objects.filter(pk__in=ids(org.sales_rep1)))
    mgr = SalesReport.objects.filter(pk__in=ids(org.sales_manager))
    assert east.pk in ids(org.sales_manager) and hq.pk not in ids(org.sales_manager)
    assert not mgr.filter(user=org.sales_rep3).exists()
    assert api(org.sales_rep3).get(f"/api/v1/sales-reports/{rep1.pk}/").status_code == 404
    # export
    r = api(org.sales_rep1).get(f"/api/v1/sales-reports/{rep1.pk}/export/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "New leads" in r.content.decode("utf-8-sig")
    r = api(org.sales_rep1).get(f"/api/v1/sales-reports/{rep1.pk}/export/?type=xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    # generating on demand is for administrators
    assert (
        api(org.sales_rep1)
        .post("/api/v1/sales-reports/generate/", {"kind": "monthly"}, format="json")
        .status_code
        == 403
    )
    r = api(org.admin).post("/api/v1/sales-reports/generate/", {"kind": "monthly"}, format="json")
    assert r.status_code == 202


def test_reports_without_opportunity_scope(org, api, data):
    """Marketing and finance may see reports but no opportunity: their scoped queryset is empty
    (``.none()``), which once crashed the forecast with EmptyResultSet. Every filter still works."""
    for user in (org.marketing, org.finance):
        client = api(user)
        for url in (
            "/api/v1/reports/forecast/",
            "/api/v1/reports/forecast/?period=quarter&group=unit",
            f"/api/v1/reports/forecast/?unit={org.units['north'].pk}&owner={org.sales_rep3.pk}",
            "/api/v1/reports/forecast/?unit=999999",
            "/api/v1/reports/funnel/",
            "/api/v1/reports/funnel/?unit=999999&source=web_form",
        ):
            r = client.get(url)
            assert r.status_code == 200, (user.username, url, r.content)
        fc = client.get("/api/v1/reports/forecast/").json()
        assert fc["groups"] == [] and fc["totals"]["pipeline"] == "0.00" and fc["totals"]["win_rate"] is None
        f = client.get("/api/v1/reports/funnel/").json()
        assert f["opportunities"]["total"] == 0
    # marketing sees every lead, finance none
    assert api(org.marketing).get("/api/v1/reports/funnel/").json()["leads"]["total"] == 5
    assert api(org.finance).get("/api/v1/reports/funnel/").json()["leads"]["total"] == 0


def test_report_notification_in_the_recipients_language(org, data):
    from huoban.sales.periodic import generate_sales_reports

    org.sales_rep3.language = "zh-hans"
    org.sales_rep3.save(update_fields=["language"])
    generate_sales_reports(kind="weekly", today=timezone.localdate() + dt.timedelta(days=7))
    en = org.sales_rep1.notifications.get(verb="sales.report").body
    zh = org.sales_rep3.notifications.get(verb="sales.report").body
    assert en.startswith("New leads 5 · follow-ups")
    assert zh.startswith("新增线索 0 · 跟进记录 0 · 新增商机 1")
