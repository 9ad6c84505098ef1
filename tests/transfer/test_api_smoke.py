import json

from .conftest import csv_bytes, upload


def test_api_import_roundtrip(org, api, industries):
    client = api(org.sales_manager)
    data = csv_bytes(
        [["客户名称", "手机", "所属行业"], ["甲公司", "13800138000", "制造"], ["乙公司", "bad", "制造"]]
    )
    r = client.post(
        "/api/v1/imports/",
        {"file": upload("c.csv", data), "object_type": "customer", "dry_run": "true"},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["dry_run"] is True
    rid = body["id"]
    r = client.get(f"/api/v1/imports/{rid}/")
    assert r.json()["status"] == "done", r.json()
    assert r.json()["counts"] == {"read": 2, "created": 1, "updated": 0, "skipped": 0, "rejected": 1}
    assert len(r.json()["preview"]["rows"]) == 2
    r = client.post(f"/api/v1/imports/{rid}/commit/")
    assert r.status_code == 202, r.content
    r = client.get(f"/api/v1/imports/{rid}/")
    assert r.json()["status"] == "done" and r.json()["dry_run"] is False
    r = client.get(f"/api/v1/imports/{rid}/errors/")
    assert r.status_code == 200
    assert "bad" in r.content.decode()
    r = client.get(f"/api/v1/imports/{rid}/report/")
    assert r.status_code == 200, r.content
    assert r.json()["rejected"][0]["row"] == 3
    r = client.post(f"/api/v1/imports/{rid}/undo/")
    assert r.status_code == 202, r.content
    r = client.get(f"/api/v1/imports/{rid}/")
    assert r.json()["undone_at"], r.json()
    r = client.post("/api/v1/exports/", {"object_type": "customer", "format": "xlsx"}, format="json")
    assert r.status_code == 202, r.content
    e = r.json()
    r = client.get(f"/api/v1/exports/{e['id']}/")
    assert r.json()["status"] == "done", r.json()
    r = client.get(f"/api/v1/exports/{e['id']}/download/")
    assert r.status_code == 200
    r = client.get("/api/v1/exports/stream/?object_type=customer&format=csv")
    assert r.status_code == 200, r.content
    r = client.get("/api/v1/import-types/customer/")
    assert r.status_code == 200, r.content
    r = client.post(
        "/api/v1/import-types/customer/suggest/", {"headers": ["公司名称", "Phone"]}, format="json"
    )
    assert r.json()["mapping"] == {"公司名称": "name", "Phone": "phone"}, r.json()
    r = client.post(
        "/api/v1/import-templates/",
        {
            "object_type": "customer",
            "name": "CRM",
            "mapping": {"公司名称": "name"},
            "options": json.loads('{"dedup": "update"}'),
        },
        format="json",
    )
    assert r.status_code == 201, r.content
