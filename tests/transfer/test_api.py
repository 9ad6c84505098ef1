"""The import API: multipart and JSON, templates, import types, reports, idempotency, visibility."""

import json

from huoban.customers.models import Customer
from huoban.platform.audit.models import AuditEvent
from huoban.platform.transfer.models import ImportTemplate

from .conftest import csv_bytes, upload


def post(client, data, **fields):
    payload = {"file": upload(fields.pop("name", "c.csv"), data), "object_type": "customer", **fields}
    return client.post("/api/v1/imports/", payload, format="multipart")


def test_multipart_with_json_fields_and_encoding_override(org, api):
    client = api(org.admin)
    data = csv_bytes([["A", "B"], ["甲公司", "13800138000"]], encoding="gbk")
    r = post(
        client,
        data,
        mapping=json.dumps({"A": "name", "B": "phone"}),
        match_keys=json.dumps(["name_phone", "email"]),
        dedup="update",
        encoding="gbk",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["encoding"] == "gb18030" and body["detected_encoding"] == "gb18030"
    assert body["mapping"] == {"A": "name", "B": "phone"} and body["match_keys"] == ["name_phone", "email"]
    assert body["dedup"] == "update"
    detail = client.get(f"/api/v1/imports/{body['id']}/").json()
    assert detail["status"] == "done" and detail["counts"]["created"] == 1 and detail["progress"] == 100
    assert set(detail["counts"]) == {"read", "created", "updated", "skipped", "rejected"}


def test_json_rows_body(org, api):
    r = api(org.admin).post(
        "/api/v1/imports/",
        {
            "object_type": "customer",
            "rows": [{"name": "甲公司", "phone": "13800138000"}, {"name": "", "phone": "x"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["file_format"] == "jsonl" and body["counts"] == {
        "read": 2,
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "rejected": 1,
    }


def test_bad_requests(org, api):
    client = api(org.admin)
    assert client.post("/api/v1/imports/", {"object_type": "customer"}, format="multipart").status_code == 400
    r = post(client, csv_bytes([["A"], ["x"]]), mapping="{not json")
    assert r.status_code == 400
    r = post(client, csv_bytes([["A"], ["x"]]), object_type="nope")
    assert r.status_code == 400
    r = post(client, csv_bytes([["A"], ["x"]]), dedup="merge")
    assert r.status_code == 400
    r = post(client, csv_bytes([["A"], ["x"]]), match_keys='["nope"]')
    assert r.status_code == 400
    assert post(client, b"", name="empty.csv").status_code == 400


def test_permissions_and_visibility(org, api):
    data = csv_bytes([["客户名称"], ["甲公司"]])
    assert post(api(org.sales_rep1), data).status_code == 403
    assert post(api(org.service_agent), data).status_code == 403
    r = post(api(org.sales_manager), data)
    assert r.status_code == 201
    rid = r.json()["id"]
    assert api(org.sales_manager_north).get(f"/api/v1/imports/{rid}/").status_code == 404
    assert api(org.sales_manager_north).get(f"/api/v1/imports/{rid}/errors/").status_code == 404
    assert api(org.admin).get(f"/api/v1/imports/{rid}/").status_code == 200
    assert [x["id"] for x in api(org.sales_manager).get("/api/v1/imports/").json()["results"]] == [rid]
    assert api(org.sales_manager_north).get("/api/v1/imports/").json()["results"] == []
    # dedup=update needs the change permission too
    from huoban.platform.identity.models import Role

    role = Role.objects.create(
        code="importer",
        name="Importer",
        permissions={"customer": ["view", "add", "import"]},
        scopes={"customer": "own"},
    )
    org.finance.roles.set([role])
    assert post(api(org.finance), data, dedup="update").status_code == 403
    assert post(api(org.finance), data, dedup="skip").status_code == 201


def test_audit_of_a_run(org, api):
    data = csv_bytes([["客户名称"], ["甲公司"], ["乙公司"]])
    rid = post(api(org.sales_manager), data).json()["id"]
    events = AuditEvent.objects.filter(action="import", object_id=f"import:{rid}").order_by("seq")
    assert events.count() == 2  # one per batch, one at the end
    batch, end = events
    ids = sorted(Customer.objects.unrestricted().values_list("pk", flat=True))
    assert batch.data["created"] == [[ids[0], ids[1]]] and batch.actor_name == "sales_manager"
    assert end.data["finished"] is True and end.data["counts"]["created"] == 2


def test_report_and_sample(org, api):
    rows = [["客户名称", "手机"]] + [[f"公司{i}", f"138{i:08d}"] for i in range(60)] + [["坏", "1"]]
    rid = post(api(org.admin), csv_bytes(rows)).json()["id"]
    r = api(org.admin).get(f"/api/v1/imports/{rid}/report/")
    assert r.status_code == 200
    rep = r.json()
    assert rep["conserved"] is True and rep["rejected_total"] == 1
    assert rep["rejected"][0] == {
        "row": 62,
        "errors": rep["rejected"][0]["errors"],
        "cells": {"客户名称": "坏", "手机": "1"},
    }
    assert rep["errors_by_column"] == {"手机": 1}
    assert 0 < len(rep["sample"]) < 20  # about 10 %
    pair = rep["sample"][0]["columns"]
    assert {c["column"] for c in pair} == {"客户名称", "手机"}
    phone = next(c for c in pair if c["field"] == "phone")
    assert phone["value"] == "+86" + phone["source"]


def test_templates(org, api):
    client = api(org.sales_manager)
    r = client.post(
        "/api/v1/import-templates/",
        {
            "object_type": "customer",
            "name": "旧CRM",
            "mapping": {"Account": "name", "Tel": "phone"},
            "options": {"dedup": "update", "match_keys": ["uscc"], "date_format": "DD/MM/YYYY"},
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert (
        client.post(
            "/api/v1/import-templates/", {"object_type": "customer", "name": "旧CRM"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/import-templates/",
            {"object_type": "customer", "name": "x", "mapping": {"a": "nope"}},
            format="json",
        ).status_code
        == 400
    )
    assert [
        t["name"] for t in client.get("/api/v1/import-templates/?object_type=customer").json()["results"]
    ] == ["旧CRM"]
    r = post(client, csv_bytes([["Account", "Tel"], ["甲公司", "13800138000"]]), template=tid)
    body = r.json()
    assert body["mapping"] == {"Account": "name", "Tel": "phone"} and body["dedup"] == "update"
    assert body["match_keys"] == ["uscc"] and body["options"]["date_format"] == "DD/MM/YYYY"
    assert (
        client.patch(f"/api/v1/import-templates/{tid}/", {"name": "新名字"}, format="json").status_code == 200
    )
    assert api(org.sales_manager_north).delete(f"/api/v1/import-templates/{tid}/").status_code == 403
    assert api(org.sales_rep1).get("/api/v1/import-templates/").json()["results"] == []
    assert client.delete(f"/api/v1/import-templates/{tid}/").status_code == 204
    assert not ImportTemplate.objects.exists()


def test_import_types(org, api):
    r = api(org.sales_manager).get("/api/v1/import-types/")
    keys = [t["object_type"] for t in r.json()["results"]]
    assert {"customer", "contact", "follow_up"} <= set(keys)
    customer = api(org.sales_manager).get("/api/v1/import-types/customer/").json()
    names = {f["name"] for f in customer["fields"]}
    assert {"name", "phone", "industry", "owner", "tags", "uscc"} <= names
    assert {m["key"] for m in customer["match_keys"]} == {"uscc", "name_phone", "email", "name"}
    assert api(org.sales_rep1).get("/api/v1/import-types/customer/").status_code == 403
    assert api(org.sales_rep1).get("/api/v1/import-types/").json()["results"] == []


def test_idempotency_key(org, api):
    client = api(org.admin)
    data = csv_bytes([["客户名称"], ["甲公司"]])
    r1 = client.post(
        "/api/v1/imports/",
        {"file": upload("c.csv", data), "object_type": "customer"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    r2 = client.post(
        "/api/v1/imports/",
        {"file": upload("c.csv", data), "object_type": "customer"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert r1.json()["id"] == r2.json()["id"] and r2["Idempotent-Replayed"] == "true"
    assert Customer.objects.unrestricted().count() == 1


def test_bad_encodings_are_field_errors_not_500(org, api):
    client = api(org.admin)
    data = csv_bytes([["客户名称", "手机"], ["甲公司", "13800138000"]])
    for encoding in ("rot13", "base64", "utf-16", "nope-1"):
        r = post(client, data, encoding=encoding)
        assert r.status_code == 400, (encoding, r.content)
        assert "encoding" in r.json(), (encoding, r.content)


def test_options_are_checked_before_the_run(org, api):
    client = api(org.admin)
    data = csv_bytes([["A", "B"], ["甲公司", "13800138000"]])
    mapping = json.dumps({"A": "name", "B": "phone"})
    for options in (
        {"batch_size": "abc"},
        {"batch_size": 0},
        {"update_empty": "no"},
        {"phone_region": 5},
        {"phone_region": "XX"},
        {"fields": {"phone": {"phone_region": []}}},
        {"fields": {"name": {"trim": "no"}}},
        {"fields": {"rating": {"default": "abc"}}},
    ):
        r = post(client, data, mapping=mapping, options=json.dumps(options))
        assert r.status_code == 400, (options, r.content)
        assert list(r.json()) == ["options"], (options, r.content)
    r = post(
        client,
        data,
        mapping=mapping,
        options=json.dumps({"batch_size": 500, "update_empty": True, "phone_region": "HK"}),
    )
    assert r.status_code == 201, r.content


def test_idempotency_key_on_export_and_template_posts(org, api):
    client = api(org.admin)
    r1 = client.post(
        "/api/v1/exports/", {"object_type": "customer"}, format="json", HTTP_IDEMPOTENCY_KEY="e1"
    )
    r2 = client.post(
        "/api/v1/exports/", {"object_type": "customer"}, format="json", HTTP_IDEMPOTENCY_KEY="e1"
    )
    assert r1.status_code == 202 and r1.json()["id"] == r2.json()["id"]
    assert r2["Idempotent-Replayed"] == "true"
    body = {"object_type": "customer", "name": "标准模板", "mapping": {"客户名称": "name"}}
    r1 = client.post("/api/v1/import-templates/", body, format="json", HTTP_IDEMPOTENCY_KEY="t1")
    r2 = client.post("/api/v1/import-templates/", body, format="json", HTTP_IDEMPOTENCY_KEY="t1")
    assert r1.status_code == 201 and r2.status_code == 201 and r1.json()["id"] == r2.json()["id"]
    assert ImportTemplate.objects.filter(name="标准模板").count() == 1
