"""Exports: scope, masking, filters, columns, custom fields, formula escaping, audit, step-up,
rate limit, permissions."""

import io

import pytest
from openpyxl import load_workbook

from huoban.customers.services import customer_create
from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import Role
from huoban.platform.records.models import CustomField
from huoban.platform.transfer.exporting import escape_cell


@pytest.fixture
def data(org):
    CustomField.objects.create(
        object_type="customer", key="level", label="Level", label_zh_hans="等级", type="text"
    )
    a = customer_create(
        actor=org.sales_rep1,
        data={
            "name": "=1+1 杭州甲",
            "phone": "13800138000",
            "industry": "C",
            "kind": "individual",
            "id_number": "110101199003074477",
        },
        custom_fields={"level": "A"},
        tags=["重点"],
        confirm_duplicate=True,
    )
    b = customer_create(
        actor=org.sales_rep2, data={"name": "上海乙", "phone": "13900139000", "industry": "F"}
    )
    c = customer_create(actor=org.sales_rep3, data={"name": "北京丙", "phone": "13700137000"})
    return a, b, c


def csv_rows(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens Chinese correctly
    import csv

    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_stream_csv_only_in_scope_masked_and_escaped(org, api, data):
    r = api(org.sales_manager).get(
        "/api/v1/exports/stream/?object_type=customer&format=csv&columns=name,phone,id_number,cf.level,tags"
    )
    assert r.status_code == 200, r.content
    rows = csv_rows(r)
    assert rows[0] == ["name", "phone", "ID card number", "Level", "tags"]
    names = sorted(row[0] for row in rows[1:])
    assert names == ["'=1+1 杭州甲", "上海乙"]  # the north customer is outside the manager's scope
    row = next(r for r in rows[1:] if r[0].startswith("'="))
    assert row[1] == "'+8613800138000"  # text starting with + is escaped too
    assert row[2] == "110101199003074477"  # the sales manager may view sensitive fields
    assert row[3] == "A" and row[4] == "重点"


def test_sensitive_fields_masked_without_permission(org, api, data):
    role = Role.objects.create(
        code="exporter",
        name="Exporter",
        permissions={"customer": ["view", "export"]},
        scopes={"customer": "all"},
    )
    org.marketing.roles.add(role)
    r = api(org.marketing).get("/api/v1/exports/stream/?object_type=customer&columns=name,id_number")
    rows = csv_rows(r)
    masked = [row[1] for row in rows[1:] if row[1]]
    assert masked == ["1101**********4477"]
    ev = AuditEvent.objects.filter(action="export").latest("seq")
    assert ev.data["masked"] is True and ev.data["rows"] == 3


def test_background_xlsx_export_with_filters_and_download(org, api, data):
    client = api(org.admin)
    r = client.post(
        "/api/v1/exports/",
        {
            "object_type": "customer",
            "format": "xlsx",
            "filters": {"industry": "C"},
            "columns": ["number", "name", "created_at", "owner"],
        },
        format="json",
    )
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "done" and body["row_count"] == 1 and body["job"]
    r = client.get(f"/api/v1/exports/{body['id']}/download/")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["number", "name", "created at", "owner"]
    assert values[1][1] == "'=1+1 杭州甲" and values[1][3] == "李娜 Li Na"
    assert values[1][2].year >= 2024  # a real date cell in Excel
    ev = AuditEvent.objects.filter(action="export").latest("seq")
    assert ev.actor_name == "admin" and ev.data["filters"] == {"industry": "C"} and ev.data["rows"] == 1
    # only the author downloads; others do not even see it
    assert api(org.sales_manager).get(f"/api/v1/exports/{body['id']}/").status_code == 404
    assert api(org.sales_manager).get(f"/api/v1/exports/{body['id']}/download/").status_code == 404


def test_list_page_export_payload(org, api, data):
    a, b, _c = data
    r = api(org.sales_manager).post(
        "/api/v1/exports/",
        {
            "object_type": "customer",
            "query": "q=上海",
            "columns": ["name", "cf_level", "not_a_column"],
            "ids": [],
            "format": "xlsx",
        },
        format="json",
    )
    assert r.status_code == 202, r.content
    assert r.json()["row_count"] == 1 and r.json()["columns"] == ["name", "cf.level"]
    r = api(org.sales_manager).post(
        "/api/v1/exports/",
        {"object_type": "customer", "query": "", "ids": [a.pk], "format": "csv"},
        format="json",
    )
    assert r.json()["row_count"] == 1


def test_permissions(org, api, data):
    rep = api(org.sales_rep1)
    assert rep.post("/api/v1/exports/", {"object_type": "customer"}, format="json").status_code == 403
    assert rep.get("/api/v1/exports/stream/?object_type=customer").status_code == 403
    r = api(org.admin).post(
        "/api/v1/exports/", {"object_type": "customer", "filters": {"nope__x": 1}}, format="json"
    )
    assert r.status_code in (202, 400)
    r = api(org.admin).post(
        "/api/v1/exports/", {"object_type": "customer", "columns": ["nope"]}, format="json"
    )
    assert r.status_code == 400


def test_step_up_required_for_users_with_2fa(org, api, data):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=org.sales_manager, name="phone", confirmed=True)
    r = api(org.sales_manager).post("/api/v1/exports/", {"object_type": "customer"}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    from django.utils import timezone

    type(org.sales_manager).objects.filter(pk=org.sales_manager.pk).update(last_step_up_at=timezone.now())
    org.sales_manager.refresh_from_db()
    assert (
        api(org.sales_manager)
        .post("/api/v1/exports/", {"object_type": "customer"}, format="json")
        .status_code
        == 202
    )


def test_rate_limited(org, api, data, monkeypatch):
    from django.core.cache import cache

    from huoban.platform.transfer.api import ExportThrottle

    cache.clear()
    monkeypatch.setattr(
        ExportThrottle, "THROTTLE_RATES", {**ExportThrottle.THROTTLE_RATES, "export": "2/hour"}
    )
    client = api(org.admin)
    codes = [client.get("/api/v1/exports/stream/?object_type=customer").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    cache.clear()


def test_escape_cell():
    for v in ("=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx"):
        assert escape_cell(v) == "'" + v
    assert escape_cell(-5) == -5 and escape_cell("abc") == "abc" and escape_cell("") == ""


def test_ui_export_page(client, org, data):
    client.force_login(org.sales_manager)
    r = client.get("/exports/new/?object_type=customer&q=上海")
    assert r.status_code == 200
    assert "1 record" in r.content.decode()
    r = client.post(
        "/exports/new/", {"object_type": "customer", "query": "q=上海", "format": "xlsx", "columns": ["name"]}
    )
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    r = client.post(
        "/exports/new/", {"object_type": "customer", "query": "", "format": "csv", "background": "1"}
    )
    assert r.status_code == 302 and "/exports/" in r["Location"]
    assert client.get(r["Location"]).status_code == 200
    client.force_login(org.sales_rep1)
    assert client.get("/exports/new/?object_type=customer").status_code == 403


def test_filter_errors_are_readable_field_messages(org, api, data):
    r = api(org.admin).get("/api/v1/exports/stream/?object_type=customer&created_at__gte=bad")
    assert r.status_code == 400
    messages = r.json()["filters"]
    assert messages and all("ErrorDetail" not in m and "{" not in m for m in messages), messages
    assert any(m.startswith("created_at__gte: ") for m in messages), messages
