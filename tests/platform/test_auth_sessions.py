"""Session expiry (idle / absolute), listing and revoking own sessions and API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import ApiToken, UserSession
from huoban.platform.identity.testing import web_login


def _age_session(client, *, idle_minutes=0, started_hours=0):
    session = client.session
    if idle_minutes:
        session["huoban_last_seen"] -= idle_minutes * 60
    if started_hours:
        session["huoban_started"] -= started_hours * 3600
        session["huoban_last_seen"] -= 60  # recently active
    session.save()


def test_idle_timeout_api(client, org):
    web_login(client, "sales_rep1")
    _age_session(client, idle_minutes=29)
    assert client.get("/api/v1/me/").status_code == 200  # 29 min idle: still fine (and refreshed)
    _age_session(client, idle_minutes=31)
    r = client.get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["code"] == "session_expired"
    assert client.get("/api/v1/me/").status_code == 401  # really signed out
    assert not UserSession.objects.filter(user=org.sales_rep1).exists()


def test_idle_timeout_page_redirects_to_login(client, org):
    web_login(client, "sales_rep1")
    _age_session(client, idle_minutes=31)
    r = client.get("/profile/security/?tab=1")
    assert r.status_code == 302
    assert r["Location"] == "/login/?next=%2Fprofile%2Fsecurity%2F%3Ftab%3D1"


def test_absolute_timeout(client, org):
    web_login(client, "sales_rep1")
    _age_session(client, started_hours=11)
    assert client.get("/api/v1/me/").status_code == 200
    _age_session(client, started_hours=2)  # 13 h since sign-in, though active a minute ago
    r = client.get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["code"] == "session_expired"


def test_list_and_revoke_own_sessions(org):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop"), Client(HTTP_USER_AGENT="Phone")
    web_login(laptop, "sales_rep1")
    web_login(phone, "sales_rep1")
    web_login(Client(), "sales_rep2")
    listed = laptop.get("/api/v1/me/sessions/").json()["results"]
    assert len(listed) == 2  # only my own
    assert {s["user_agent"] for s in listed} == {"Laptop", "Phone"}
    assert [s["current"] for s in listed if s["user_agent"] == "Laptop"] == [True]
    phone_id = next(s["id"] for s in listed if s["user_agent"] == "Phone")
    r = laptop.delete(f"/api/v1/me/sessions/{phone_id}/")
    assert r.status_code == 204
    assert phone.get("/api/v1/me/").status_code == 401  # really logged out
    assert laptop.get("/api/v1/me/").status_code == 200
    assert AuditEvent.objects.filter(action="session_revoke", actor=org.sales_rep1).exists()


def test_cannot_revoke_someone_elses_session(org):
    mine, theirs = Client(), Client()
    web_login(mine, "sales_rep1")
    web_login(theirs, "sales_rep2")
    other = UserSession.objects.get(user=org.sales_rep2)
    assert mine.delete(f"/api/v1/me/sessions/{other.pk}/").status_code == 404
    assert mine.post(f"/profile/security/sessions/{other.pk}/revoke/").status_code == 404
    assert theirs.get("/api/v1/me/").status_code == 200


def test_revoke_session_from_page(org):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop"), Client(HTTP_USER_AGENT="Phone")
    web_login(laptop, "sales_rep1")
    web_login(phone, "sales_rep1")
    page = laptop.get("/profile/security/")
    assert "Phone" in page.content.decode() and "This session" in page.content.decode()
    target = UserSession.objects.get(user_agent="Phone")
    r = laptop.post(f"/profile/security/sessions/{target.pk}/revoke/")
    assert r.status_code == 302
    assert phone.get("/api/v1/me/").status_code == 401
    # ending the current session signs out
    current = UserSession.objects.get(user_agent="Laptop")
    r = laptop.post(f"/profile/security/sessions/{current.pk}/revoke/")
    assert r["Location"] == "/login/"
    assert laptop.get("/api/v1/me/").status_code == 401


def test_token_create_list_revoke_api(org, api):
    c = api(org.sales_rep1)
    created = c.post("/api/v1/me/tokens/", {"name": "ERP sync", "expires_in_days": 30}, format="json")
    assert created.status_code == 201
    body = created.json()
    raw = body["token"]
    assert raw.startswith("hb_") and body["prefix"] == raw[:10]
    # stored hashed only
    stored = ApiToken.objects.get(pk=body["id"])
    assert raw not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    listed = c.get("/api/v1/me/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["ERP sync"] and "token" not in listed[0]
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/v1/me/").status_code == 200
    assert api(org.sales_rep2).delete(f"/api/v1/me/tokens/{body['id']}/").status_code == 404
    assert c.delete(f"/api/v1/me/tokens/{body['id']}/").status_code == 204
    r = bearer.get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["code"] == "authentication_failed"
    assert AuditEvent.objects.filter(action="token_revoke", actor=org.sales_rep1).exists()


def test_expired_token_is_refused(org, api):
    raw = api(org.sales_rep1).post("/api/v1/me/tokens/", {"name": "short"}, format="json").json()["token"]
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(user=org.sales_rep1).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer.get("/api/v1/me/").status_code == 401


def test_token_default_expiry(org, api, settings):
    body = api(org.sales_rep1).post("/api/v1/me/tokens/", {"name": "d"}, format="json").json()
    token = ApiToken.objects.get(pk=body["id"])
    days = (token.expires_at - token.created_at).days
    assert days in (settings.API_TOKEN_DEFAULT_DAYS - 1, settings.API_TOKEN_DEFAULT_DAYS)


def test_deactivated_user_loses_sessions_and_tokens(org, api, client):
    web_login(client, "sales_rep1")
    raw = api(org.sales_rep1).post("/api/v1/me/tokens/", {"name": "t"}, format="json").json()["token"]
    assert (
        api(org.admin)
        .patch(f"/api/v1/users/{org.sales_rep1.pk}/", {"is_active": False}, format="json")
        .status_code
        == 200
    )
    assert client.get("/api/v1/me/").status_code == 401
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/").status_code == 401


def test_tokens_on_security_page(org, client):
    web_login(client, "sales_rep1")
    r = client.post("/profile/security/tokens/", {"name": "Report robot", "expires_in_days": "7"})
    assert r.status_code == 201
    token = ApiToken.objects.get(user=org.sales_rep1)
    html = r.content.decode()
    raw = re.search(r'value="(hb_[^"]+)"', html)[1]
    assert raw[:10] == token.prefix
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/").status_code == 200
    again = client.get("/profile/security/").content.decode()
    assert "Report robot" in again and raw not in again  # shown once
    bad = client.post("/profile/security/tokens/", {"name": "", "expires_in_days": "-1"})
    assert bad.status_code == 400 and "invalid-feedback" in bad.content.decode()
    r = client.post(f"/profile/security/tokens/{token.pk}/revoke/")
    assert r.status_code == 302
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/").status_code == 401
