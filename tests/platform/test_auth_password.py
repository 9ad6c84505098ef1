"""Password reset by email (API and pages), password policy, password change."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from rest_framework.test import APIClient

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import UserSession
from huoban.platform.identity.testing import web_login

NEW = "Violet-lantern-harbour-58"
LINK = re.compile(r"https?://testserver/password-reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/")


def _request_reset(email):
    return APIClient().post("/api/v1/auth/password-reset/", {"email": email}, format="json")


def _link():
    assert len(mail.outbox) == 1
    m = LINK.search(mail.outbox[0].body)
    assert m, mail.outbox[0].body
    return m["uid"], m["token"]


def test_reset_request_is_the_same_for_unknown_addresses(org):
    known = _request_reset("sales_rep1@demo.huoban.local")
    unknown = _request_reset("nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sales_rep1@demo.huoban.local"]
    assert "Reset your Huoban CRM password" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(
        action="other", data__event="password_reset_requested", object_id=str(org.sales_rep1.pk)
    ).exists()


def test_reset_request_ignores_inactive_users_and_is_case_insensitive(org):
    org.sales_rep2.is_active = False
    org.sales_rep2.save()
    assert _request_reset("SALES_REP2@demo.huoban.local").status_code == 200
    assert len(mail.outbox) == 0
    assert _request_reset("Sales_Rep1@Demo.Huoban.Local").status_code == 200
    assert len(mail.outbox) == 1


def test_reset_request_needs_an_email_field(db):
    r = APIClient().post("/api/v1/auth/password-reset/", {}, format="json")
    assert r.status_code == 400 and "email" in r.json()


def test_reset_mail_in_users_language(org):
    org.sales_rep1.language = "zh-hans"
    org.sales_rep1.save()
    _request_reset("sales_rep1@demo.huoban.local")
    assert "重置" in mail.outbox[0].subject


def test_reset_confirm_via_api(org, client):
    web_login(client, "sales_rep1")  # an open session ends with the reset
    _request_reset("sales_rep1@demo.huoban.local")
    uid, token = _link()
    c = APIClient()
    bad_token = c.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": uid, "token": "abc-def", "new_password": NEW},
        format="json",
    )
    assert bad_token.status_code == 400 and "token" in bad_token.json()
    weak = c.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": uid, "token": token, "new_password": "short"},
        format="json",
    )
    assert weak.status_code == 400 and "new_password" in weak.json()
    ok = c.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": uid, "token": token, "new_password": NEW},
        format="json",
    )
    assert ok.status_code == 204
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.check_password(NEW)
    assert AuditEvent.objects.filter(action="password_change", data__via="reset").exists()
    assert client.get("/api/v1/me/").status_code == 401
    # the link works once
    again = c.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": uid, "token": token, "new_password": NEW + "x"},
        format="json",
    )
    assert again.status_code == 400 and "token" in again.json()


@pytest.mark.parametrize(
    ("password", "needle"),
    [
        ("Short-1", "too short"),
        ("password1234", "too common"),
        ("sales_rep1-demo", "too similar"),
        ("482915736204", "entirely numeric"),
    ],
)
def test_password_policy_field_errors(org, api, password, needle):
    r = api(org.sales_rep1).post(
        "/api/v1/me/password/",
        {"old_password": settings.DEMO_PASSWORD, "new_password": password},
        format="json",
    )
    assert r.status_code == 400
    messages = r.json()["new_password"]
    assert any(needle in m for m in messages), messages


def test_password_change_api(org, api, client):
    # a second browser session of the same user ends when the password changes
    web_login(client, "sales_rep1")
    assert client.get("/api/v1/me/").status_code == 200
    c = api(org.sales_rep1)
    wrong = c.post(
        "/api/v1/me/password/", {"old_password": "not-it-at-all", "new_password": NEW}, format="json"
    )
    assert wrong.status_code == 400 and "old_password" in wrong.json()
    ok = c.post(
        "/api/v1/me/password/",
        {"old_password": settings.DEMO_PASSWORD, "new_password": NEW},
        format="json",
    )
    assert ok.status_code == 204
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.check_password(NEW)
    assert AuditEvent.objects.filter(action="password_change", data__via="change").exists()
    assert client.get("/api/v1/me/").status_code == 401
    assert not UserSession.objects.filter(user=org.sales_rep1).exists()


def test_password_change_keeps_current_session(org, client):
    web_login(client, "sales_rep1")
    r = client.post(
        "/api/v1/me/password/",
        {"old_password": settings.DEMO_PASSWORD, "new_password": NEW},
        content_type="application/json",
    )
    assert r.status_code == 204
    assert client.get("/api/v1/me/").status_code == 200
    assert UserSession.objects.filter(user=org.sales_rep1).count() == 1


# --- pages ----------------------------------------------------------------------------------------


def test_reset_pages_flow(org, client):
    page = client.get("/password-reset/")
    assert page.status_code == 200 and 'type="email"' in page.content.decode()
    r = client.post("/password-reset/", {"email": "sales_rep1@demo.huoban.local"})
    assert r.status_code == 302 and r["Location"] == "/password-reset/sent/"
    assert client.get("/password-reset/sent/").status_code == 200
    uid, token = _link()
    form = client.get(f"/password-reset/{uid}/{token}/")
    assert form.status_code == 200 and 'name="new_password"' in form.content.decode()
    mismatch = client.post(
        f"/password-reset/{uid}/{token}/", {"new_password": NEW, "new_password_again": NEW + "!"}
    )
    assert mismatch.status_code == 400 and "do not match" in mismatch.content.decode()
    weak = client.post(
        f"/password-reset/{uid}/{token}/", {"new_password": "abc", "new_password_again": "abc"}
    )
    html = weak.content.decode()
    assert weak.status_code == 400 and "too short" in html and "invalid-feedback" in html
    ok = client.post(f"/password-reset/{uid}/{token}/", {"new_password": NEW, "new_password_again": NEW})
    assert ok.status_code == 302 and ok["Location"] == "/password-reset/done/"
    assert client.get("/password-reset/done/").status_code == 200
    assert web_login(client, "sales_rep1", NEW).status_code == 302
    # a used link is refused
    assert client.get(f"/password-reset/{uid}/{token}/").status_code == 400


def test_reset_unlocks_a_locked_account(org, client):
    for _ in range(5):
        client.post("/login/", {"username": "sales_rep1", "password": "wrong-wrong-wrong"})
    assert web_login(client, "sales_rep1").status_code == 429
    _request_reset("sales_rep1@demo.huoban.local")
    uid, token = _link()
    client.post(f"/password-reset/{uid}/{token}/", {"new_password": NEW, "new_password_again": NEW})
    assert web_login(client, "sales_rep1", NEW).status_code == 302


def test_password_change_page(org, client):
    web_login(client, "sales_rep1")
    bad = client.post(
        "/profile/security/password/",
        {"old_password": "wrong-old-pass", "new_password": NEW, "new_password_again": NEW},
    )
    assert bad.status_code == 400 and "entered incorrectly" in bad.content.decode()
    ok = client.post(
        "/profile/security/password/",
        {"old_password": settings.DEMO_PASSWORD, "new_password": NEW, "new_password_again": NEW},
    )
    assert ok.status_code == 302
    assert client.get("/profile/security/").status_code == 200  # still signed in
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.check_password(NEW)
