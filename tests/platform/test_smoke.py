import pytest


@pytest.mark.django_db
def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "queue": "ok"}


def test_customer_crud_through_api(org, api):
    rep = api(org.sales_rep1)
    r = rep.post(
        "/api/v1/customers/", {"name": "杭州示例科技有限公司", "phone": "13800138000"}, format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith("CUST")
    assert body["owner"]["username"] == "sales_rep1"
    assert body["version"] == 1
    cid = body["id"]
    r = rep.patch(f"/api/v1/customers/{cid}/", {"short_name": "示例", "version": 1}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2
    r = rep.patch(f"/api/v1/customers/{cid}/", {"short_name": "旧", "version": 1}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    assert r.json()["changed_by"] == "sales_rep1"
    lst = rep.get("/api/v1/customers/").json()
    assert lst["count"] == 1 and lst["count_capped"] is False
    # another rep cannot see it: 404, not 403
    assert api(org.sales_rep2).get(f"/api/v1/customers/{cid}/").status_code == 404
    # the manager of the unit tree can
    assert api(org.sales_manager).get(f"/api/v1/customers/{cid}/").status_code == 200
    hist = rep.get(f"/api/v1/customers/{cid}/history/").json()
    assert [e["action"] for e in hist["results"]] == ["update", "create"]
