"""Password login (web and token API), lockout with django-axes, the OTP step, forced enrolment."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import ApiToken, Role, UserSession
from huoban.platform.identity.testing import enrol_totp, totp_code, web_login, wrong_code

PASSWORD = settings.DEMO_PASSWORD


def _fail_web(client, username, times):
    last = None
    for _ in range(times):
        last = client.post("/login/", {"username": username, "password": "wrong-password-123"})
    return last


def _fail_api(username, times):
    client = APIClient()
    last = None
    for _ in range(times):
        last = client.post(
            "/api/v1/auth/token/", {"username": username, "password": "wrong-password-123"}, format="json"
        )
    return last


def test_production_hasher_is_argon2():
    # Tests prepend a fast hasher; production hashes with Argon2 first.
    assert "django.contrib.auth.hashers.Argon2PasswordHasher" in settings.PASSWORD_HASHERS
    assert [h for h in settings.PASSWORD_HASHERS if "MD5" not in h][0].endswith("Argon2PasswordHasher")


def test_login_page_renders(client, db):
    r = client.get("/login/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "<label" in html and "csrfmiddlewaretoken" in html
    assert "<script>" not in html and 'style="' not in html


def test_web_login_success_creates_session_and_audit(client, org):
    r = web_login(client, "sales_rep1")
    assert r.status_code == 302 and r["Location"] == "/"
    assert client.get("/api/v1/me/").json()["username"] == "sales_rep1"
    assert UserSession.objects.filter(user=org.sales_rep1).count() == 1
    assert AuditEvent.objects.filter(action="login", actor=org.sales_rep1).exists()


def test_web_login_wrong_password_shows_error_and_is_audited(client, org):
    r = client.post("/login/", {"username": "sales_rep1", "password": "nope-nope-nope"})
    assert r.status_code == 200
    assert "correct username and password" in r.content.decode()
    ev = AuditEvent.objects.filter(action="login_failed").first()
    assert ev is not None and ev.data["username"] == "sales_rep1"
    assert ev.ip == "127.0.0.1"


def test_next_is_honoured_only_when_local(client, org):
    r = client.post("/login/?next=/customers/?q=x", {"username": "sales_rep1", "password": PASSWORD})
    assert r["Location"] == "/customers/?q=x"
    client.post("/logout/")
    r = client.post(
        "/login/", {"username": "sales_rep1", "password": PASSWORD, "next": "https://evil.example/x"}
    )
    assert r["Location"] == "/"
    client.post("/logout/")
    r = client.post("/login/", {"username": "sales_rep1", "password": PASSWORD, "next": "//evil.example"})
    assert r["Location"] == "/"


def test_logout_requires_post(client, org):
    web_login(client, "sales_rep1")
    r = client.get("/logout/")
    assert r.status_code == 200  # a confirmation page, nothing happens
    assert client.get("/api/v1/me/").status_code == 200
    r = client.post("/logout/")
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(action="logout", actor=org.sales_rep1).exists()
    assert not UserSession.objects.filter(user=org.sales_rep1).exists()


# --- lockout -------------------------------------------------------------------------------------


def test_web_lockout_after_five_failures(client, org):
    assert settings.AXES_FAILURE_LIMIT == 5
    r = _fail_web(client, "sales_rep1", 4)
    assert r.status_code == 200  # still a normal error
    r = _fail_web(client, "sales_rep1", 1)  # the 5th failure locks
    assert r.status_code == 429
    r = client.post("/login/", {"username": "sales_rep1", "password": PASSWORD})  # 6th, right password
    assert r.status_code == 429
    body = r.content.decode()
    assert "Too many failed login attempts" in body and "15 minutes" in body
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_failed", data__locked_out=True).exists()
    # another user from the same address is not locked (username + IP)
    assert web_login(client, "sales_rep2").status_code == 302


def test_web_success_resets_failure_count(client, org):
    _fail_web(client, "sales_rep1", 4)
    assert web_login(client, "sales_rep1").status_code == 302
    client.post("/logout/")
    r = _fail_web(client, "sales_rep1", 4)
    assert r.status_code == 200
    assert web_login(client, "sales_rep1").status_code == 302


def test_api_token_lockout(org):
    r = _fail_api("sales_rep1", 4)
    assert r.status_code == 400 and r.json()["code"] == "invalid_credentials"
    r = _fail_api("sales_rep1", 1)
    assert r.status_code == 429 and r.json()["code"] == "locked_out"
    r = APIClient().post(
        "/api/v1/auth/token/", {"username": "sales_rep1", "password": PASSWORD}, format="json"
    )
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "locked_out" and "Too many failed login attempts" in body["detail"]
    assert r["Content-Type"].startswith("application/json")
    assert int(r["Retry-After"]) == 15 * 60
    assert not ApiToken.objects.filter(user=org.sales_rep1).exists()
    # the web login shares the same counter
    from django.test import Client

    r = web_login(Client(), "sales_rep1")
    assert r.status_code == 429


def test_api_token_success_resets_failure_count(org):
    _fail_api("sales_rep1", 4)
    ok = APIClient().post(
        "/api/v1/auth/token/", {"username": "sales_rep1", "password": PASSWORD}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["token"].startswith("hb_")
    r = _fail_api("sales_rep1", 4)
    assert r.status_code == 400
    token = ok.json()["token"]
    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == "sales_rep1"


def test_api_token_failures_are_audited(org):
    _fail_api("sales_rep2", 2)
    events = AuditEvent.objects.filter(action="login_failed", object_repr="sales_rep2")
    assert events.count() == 2
    assert events.first().data["path"] == "/api/v1/auth/token/"


def test_lockout_expires_after_cooloff(client, org):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    _fail_web(client, "sales_rep1", 5)
    assert web_login(client, "sales_rep1").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert web_login(client, "sales_rep1").status_code == 302


# --- two-factor at login ----------------------------------------------------------------------


def test_web_login_with_2fa_asks_for_code(client, org):
    device = enrol_totp(org.sales_rep1)
    r = client.post("/login/?next=/customers/", {"username": "sales_rep1", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/login/otp/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/api/v1/me/").status_code == 401
    page = client.get("/login/otp/")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    r = client.post("/login/otp/", {"otp": wrong_code(device)})
    assert r.status_code == 200 and "not valid" in r.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", data__stage="otp").exists()
    r = client.post("/login/otp/", {"otp": totp_code(device)})
    assert r.status_code == 302 and r["Location"] == "/customers/"
    assert client.get("/api/v1/me/").json()["two_factor_enabled"] is True
    assert client.session.get("otp_device_id")  # django-otp: the session is verified


def test_otp_step_needs_password_step(client, org):
    r = client.get("/login/otp/")
    assert r.status_code == 302 and r["Location"] == "/login/"


def test_wrong_otp_codes_count_towards_lockout(client, org):
    device = enrol_totp(org.sales_rep1)
    client.post("/login/", {"username": "sales_rep1", "password": PASSWORD})
    for _ in range(4):
        r = client.post("/login/otp/", {"otp": wrong_code(device)})
        assert r.status_code == 200
    r = client.post("/login/otp/", {"otp": wrong_code(device)})
    assert r.status_code == 429
    # locked: even the right password and code do not get in
    r = client.post("/login/", {"username": "sales_rep1", "password": PASSWORD})
    assert r.status_code == 429


def test_api_token_with_2fa(org):
    device = enrol_totp(org.sales_rep1)
    c = APIClient()
    r = c.post("/api/v1/auth/token/", {"username": "sales_rep1", "password": PASSWORD}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "otp_required" and "otp" in r.json()
    r = c.post(
        "/api/v1/auth/token/",
        {"username": "sales_rep1", "password": PASSWORD, "otp": wrong_code(device)},
        format="json",
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_otp"
    r = c.post(
        "/api/v1/auth/token/",
        {"username": "sales_rep1", "password": PASSWORD, "otp": totp_code(device)},
        format="json",
    )
    assert r.status_code == 200 and r.json()["token"]


# --- roles that require 2FA -----------------------------------------------------------------------


@pytest.fixture
def strict_rep(org):
    Role.objects.filter(code="sales_rep").update(require_2fa=True)
    return org.sales_rep1


def test_api_token_refused_until_enrolled(strict_rep):
    r = APIClient().post(
        "/api/v1/auth/token/", {"username": "sales_rep1", "password": PASSWORD}, format="json"
    )
    assert r.status_code == 403 and r.json()["code"] == "2fa_enrolment_required"


def test_web_login_redirects_to_enrolment(client, strict_rep):
    r = client.post("/login/?next=/customers/", {"username": "sales_rep1", "password": PASSWORD})
    assert r.status_code == 302
    assert r["Location"].startswith("/profile/security/2fa/") and "next=%2Fcustomers%2F" in r["Location"]
    # every other page and API sends the user back to enrolment
    r = client.get("/customers/")
    assert r.status_code == 302 and r["Location"].startswith("/profile/security/2fa/")
    r = client.get("/api/v1/customers/")
    assert r.status_code == 403 and r.json()["code"] == "2fa_enrolment_required"
    # enrolment itself works, through the API …
    assert client.get("/api/v1/me/2fa/").json()["required"] is True
    start = client.post("/api/v1/me/2fa/")
    assert start.status_code == 201
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=strict_rep)
    r = client.post("/api/v1/me/2fa/confirm/", {"otp": totp_code(device)}, content_type="application/json")
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert client.get("/api/v1/customers/").status_code == 200


def test_enrolment_page_flow(client, strict_rep):
    web_login(client, "sales_rep1")
    page = client.get("/profile/security/2fa/?next=/customers/")
    assert page.status_code == 200
    assert "requires two-factor authentication" in page.content.decode()
    r = client.post("/profile/security/2fa/", {"next": "/customers/"})
    html = r.content.decode()
    assert r.status_code == 200 and "<svg" in html and "huoban-secret" in html
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=strict_rep, confirmed=False)
    bad = client.post("/profile/security/2fa/confirm/", {"otp": wrong_code(device), "next": "/customers/"})
    assert bad.status_code == 400 and "invalid-feedback" in bad.content.decode()
    ok = client.post("/profile/security/2fa/confirm/", {"otp": totp_code(device), "next": "/customers/"})
    assert ok.status_code == 302 and ok["Location"] == "/customers/"
    assert client.get("/api/v1/customers/").status_code == 200


def test_existing_token_blocked_when_role_starts_requiring_2fa(org):
    ok = APIClient().post(
        "/api/v1/auth/token/", {"username": "sales_rep1", "password": PASSWORD}, format="json"
    )
    token = ok.json()["token"]
    Role.objects.filter(code="sales_rep").update(require_2fa=True)
    c = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = c.get("/api/v1/customers/")
    assert r.status_code == 403 and r.json()["code"] == "2fa_enrolment_required"
    assert c.get("/api/v1/me/2fa/").status_code == 200  # enrolment stays reachable


def test_lockout_callable_for_other_callers(rf, db):
    from django.http import HttpResponse

    from huoban.platform.identity.lockout import lockout_response, mark_handled

    api_response = lockout_response(rf.post("/api/v1/other-login/"), HttpResponse("x"), {})
    assert api_response.status_code == 429
    assert json.loads(api_response.content)["code"] == "locked_out"
    page = lockout_response(rf.post("/somewhere/"), HttpResponse("x"), {})
    assert page.status_code == 429 and b"Account locked" in page.content
    kept = mark_handled(HttpResponse("mine", status=429))
    assert lockout_response(rf.post("/login/"), kept, {}) is kept
