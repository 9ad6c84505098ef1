"""Sales settings from the outside: the settings page (/settings/sales/) and
``/api/v1/sales-settings/`` share one service — who may, field-level errors, audit, and the
recalculation of open opportunities when a rate changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huoban.platform.audit.models import AuditEvent
from huoban.sales.models import Opportunity, SalesSettings

pytestmark = pytest.mark.django_db

URL = "/settings/sales/"


def _post(client, **overrides):
    data = {
        "base_currency": "CNY",
        "exchange_rates": "USD = 7.10\nEUR = 7.80",
        "funnel_warning_threshold": "20",
        "report_email": "on",
    }
    data.update(overrides)
    return client.post(URL, {k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    "username, status",
    [
        ("admin", 200),
        ("sales_manager", 403),
        ("sales_rep1", 403),
        ("service_agent", 403),
        ("marketing", 403),
        ("finance", 403),
    ],
)
def test_who_may_open_the_page(org, client, username, status):
    client.force_login(getattr(org, username))
    assert client.get(URL).status_code == status
    assert ("Sales settings" in client.get("/settings/").content.decode()) is (status == 200)


def test_anonymous_is_sent_to_login(client, db):
    r = client.get(URL)
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_save_rates_threshold_and_email_audited(org, client):
    client.force_login(org.admin)
    r = _post(
        client,
        exchange_rates="usd = 7.1\nEUR: 7.80\n\nHKD 0.91",
        funnel_warning_threshold="25",
        report_email=None,
    )
    assert r.status_code == 302 and r["Location"] == URL
    s = SalesSettings.load()
    assert s.exchange_rates == {"USD": "7.1", "EUR": "7.8", "HKD": "0.91"}
    assert s.funnel_warning_threshold == 25 and s.report_email is False
    event = AuditEvent.objects.filter(object_type="sales_settings").latest("seq")
    assert event.actor_id == org.admin.pk and "exchange_rates" in event.changes
    page = client.get(URL).content.decode()
    assert "EUR = 7.8" in page and "HKD = 0.91" in page and "Sales settings saved." in page


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"base_currency": "RMB1"}, "base_currency", "Ensure this value has at most 3 characters"),
        ({"base_currency": "C1"}, "base_currency", "three-letter currency code"),
        ({"exchange_rates": "USD = abc"}, "exchange_rates", "USD: the rate must be a number above 0."),
        ({"exchange_rates": "USD = -1"}, "exchange_rates", "USD: the rate must be a number above 0."),
        ({"exchange_rates": "DOLLAR = 7"}, "exchange_rates", "“DOLLAR” is not a three-letter currency code."),
        ({"exchange_rates": "USD"}, "exchange_rates", "Line 1: write it as “USD = 7.10”."),
        ({"exchange_rates": "USD = 7\nusd = 7.2"}, "exchange_rates", "Line 2: USD is given twice."),
        ({"funnel_warning_threshold": "101"}, "funnel_warning_threshold", "less than or equal to 100"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_kept(org, client, overrides, field, message):
    client.force_login(org.admin)
    before = SalesSettings.load().exchange_rates
    r = _post(client, **overrides)
    assert r.status_code == 400
    html = r.content.decode()
    assert message in html
    assert f'id="id_{field}-error"' in html  # at the field, not only on top
    for value in overrides.values():
        assert value.splitlines()[0].split("=")[0].strip() in html  # what was typed is still there
    assert SalesSettings.load().exchange_rates == before


def test_a_rate_change_recalculates_open_opportunities_only(org, client, make_opp):
    client.force_login(org.admin)
    _post(client, exchange_rates="USD = 7")
    open_usd = make_opp(amount=Decimal("1000"), currency="USD")
    won_usd = make_opp(amount=Decimal("1000"), currency="USD")
    cny = make_opp(amount=Decimal("500"), currency="CNY")
    assert Opportunity.objects.unrestricted().get(pk=open_usd.pk).amount_base == Decimal("7000.00")
    Opportunity.objects.unrestricted().filter(pk=won_usd.pk).update(status="won")
    versions = {o.pk: o.version for o in Opportunity.objects.unrestricted().all()}
    _post(client, exchange_rates="USD = 7.25")
    got = {o.pk: o for o in Opportunity.objects.unrestricted().all()}
    assert got[open_usd.pk].amount_base == Decimal("7250.00")
    assert got[won_usd.pk].amount_base == Decimal("7000.00")  # closed: the rate of its time
    assert got[cny.pk].amount_base == Decimal("500.00")
    assert {pk: o.version for pk, o in got.items()} == versions  # nobody's open form turns stale
    event = AuditEvent.objects.filter(object_type="sales_settings").latest("seq")
    assert event.data == {"recomputed_open_opportunities": 1}  # the open USD one; CNY is unchanged


def test_page_lists_open_currencies_and_warns_about_missing_rates(org, client, make_opp):
    make_opp(amount=Decimal("10"), currency="JPY")
    make_opp(amount=Decimal("20"), currency="CNY")
    client.force_login(org.admin)
    html = client.get(URL).content.decode()
    assert "Currencies of open opportunities" in html
    assert "No rate: counted 1 : 1 in reports" in html  # JPY
    assert "base currency" in html  # CNY


def test_api_uses_the_same_rules(org, api):
    client = api(org.admin)
    r = client.patch("/api/v1/sales-settings/", {"exchange_rates": {"usd": "0"}}, format="json")
    assert r.status_code == 400 and r.json()["exchange_rates"] == ["USD: the rate must be a number above 0."]
    r = client.patch("/api/v1/sales-settings/", {"exchange_rates": {"usd": "7.2", "CNY": "1"}}, format="json")
    assert r.status_code == 200 and r.json()["exchange_rates"] == {"USD": "7.2"}  # the base's own rate is 1
    r = client.patch("/api/v1/sales-settings/", {"funnel_warning_threshold": 150}, format="json")
    assert r.status_code == 400 and "funnel_warning_threshold" in r.json()
    assert api(org.sales_manager).get("/api/v1/sales-settings/").status_code == 200  # may read
    r = api(org.sales_manager).patch("/api/v1/sales-settings/", {"report_email": False}, format="json")
    assert r.status_code == 403


def test_page_in_chinese(org, client):
    client.force_login(org.admin)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "销售设置" in html and "汇率" in html
