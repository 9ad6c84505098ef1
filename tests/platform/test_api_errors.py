"""Errors are JSON everywhere under /api/: 400, 401, 403, 404, 405, 409, 429, 500."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from huoban.platform.records.models import CustomField

URL = "/api/v1/customers/"


def is_json(r):
    return r["Content-Type"].startswith("application/json")


def create(client, **extra):
    r = client.post(
        URL, {"name": f"Err {uuid.uuid4().hex}", "confirm_duplicate": True, **extra}, format="json"
    )
    assert r.status_code == 201, r.content
    return r.json()


def test_400_field_errors(org, api):
    CustomField.objects.create(object_type="customer", key="seats", label="Seats", type="integer")
    r = api(org.sales_rep1).post(
        URL, {"name": "", "kind": "alien", "custom_fields": {"seats": "many", "ghost": 1}}, format="json"
    )
    assert r.status_code == 400 and is_json(r)
    body = r.json()
    assert "name" in body and "kind" in body  # serializer field errors
    assert isinstance(body["name"], list) and all(isinstance(m, str) for m in body["name"])
    r = api(org.sales_rep1).post(
        URL,
        {
            "name": f"Ok {uuid.uuid4().hex}",
            "confirm_duplicate": True,
            "custom_fields": {"seats": "many", "ghost": 1},
        },
        format="json",
    )
    assert r.status_code == 400
    cf = r.json()["custom_fields"]
    assert set(cf) == {"seats", "ghost"}
    assert all(isinstance(v, list) and v for v in cf.values())
    r = api(org.sales_rep1).post(URL, {"name": "x", "custom_fields": [1, 2]}, format="json")
    assert r.status_code == 400 and "custom_fields" in r.json()


def test_401_without_credentials_and_with_a_bad_token(db):
    r = APIClient().get(URL)
    assert r.status_code == 401 and is_json(r)
    assert r.json()["code"] == "not_authenticated"
    assert r["WWW-Authenticate"].startswith("Bearer")
    r = APIClient().get(URL, HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert r.status_code == 401 and is_json(r)
    assert r.json()["code"] == "authentication_failed"


def test_bearer_token_works(org):
    from huoban.platform.identity.services import token_create

    _token, raw = token_create(actor=org.sales_rep1, user=org.sales_rep1, name="t", days=1)
    r = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200


def test_403_missing_function_permission(org, api):
    r = api(org.service_agent).post(URL, {"name": "x"}, format="json")
    assert r.status_code == 403 and is_json(r)
    body = r.json()
    assert set(body) == {"detail", "code"} and body["code"] == "permission_denied"
    # non-admins may not write custom field definitions
    r = api(org.sales_manager).post(
        "/api/v1/custom-fields/", {"object_type": "customer", "key": "k", "label": "K", "type": "text"}
    )
    assert r.status_code == 403 and set(r.json()) == {"detail", "code"}


def test_404_missing_and_out_of_scope_look_the_same(org, api):
    mine = create(api(org.sales_rep1))
    missing = api(org.sales_rep2).get(f"{URL}99999999/")
    hidden = api(org.sales_rep2).get(f"{URL}{mine['id']}/")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json() == {"detail": "Not found.", "code": "not_found"}
    assert api(org.sales_rep2).get(f"{URL}abc/").json() == missing.json()
    # the same for writes: PATCH outside scope is 404, not 403
    r = api(org.sales_rep2).patch(f"{URL}{mine['id']}/", {"short_name": "x"}, format="json")
    assert r.status_code == 404 and r.json() == missing.json()


def test_unknown_api_paths_are_json_404(org, api):
    for path in ["/api/v1/nope/", "/api/v1/customers/1/nope/", "/api/v1/a/b/c", "/api/nothing/"]:
        r = api(org.sales_rep1).get(path)
        assert r.status_code == 404, path
        assert is_json(r), path
        assert r.json()["code"] == "not_found"


@override_settings(DEBUG=True)
def test_unknown_api_paths_are_json_even_in_debug(org, api):
    r = api(org.sales_rep1).get("/api/v1/does-not-exist/")
    assert r.status_code == 404 and is_json(r)


def test_missing_trailing_slash_redirects_keeping_the_method(org, api):
    r = api(org.sales_rep1).post("/api/v1/customers", {"name": "x"}, format="json")
    assert r.status_code == 308
    assert r["Location"] == "/api/v1/customers/"


def test_405_method_not_allowed(org, api):
    admin = api(org.admin)
    event_seq = admin.get("/api/v1/audit-events/").json()["results"]
    r = admin.post("/api/v1/audit-events/", {}, format="json")
    assert r.status_code == 405 and is_json(r)
    assert r.json()["code"] == "method_not_allowed"
    if event_seq:
        seq = event_seq[0]["seq"]
        for method in ("put", "patch", "delete"):
            r = getattr(admin, method)(f"/api/v1/audit-events/{seq}/")
            assert r.status_code == 405 and is_json(r)


def test_409_stale_is_json(org, api):
    rep = api(org.sales_rep1)
    body = create(rep)
    rep.patch(f"{URL}{body['id']}/", {"short_name": "a"}, format="json")
    r = rep.patch(f"{URL}{body['id']}/", {"short_name": "b", "version": 1}, format="json")
    assert r.status_code == 409 and is_json(r) and r.json()["code"] == "stale_version"


@pytest.fixture
def low_throttle(settings, monkeypatch):
    """Throttle rates are read when DRF loads; override settings and the cached class attribute."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/min", "anon": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def test_429_when_throttled(org, api, low_throttle):
    client = api(org.sales_rep1)
    codes = [client.get(URL).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get(URL)
    assert r.status_code == 429 and is_json(r)
    assert r.json()["code"] == "throttled"
    assert int(r["Retry-After"]) > 0
    # another user has a budget of their own
    assert api(org.sales_rep2).get(URL).status_code == 200


def test_500_is_json(org, monkeypatch):
    from huoban.customers.api import CustomerViewSet

    def boom(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(CustomerViewSet, "list", boom)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user=org.sales_rep1)
    r = client.get(URL)
    assert r.status_code == 500 and is_json(r)
    assert r.json() == {"detail": "Server error.", "code": "server_error"}
