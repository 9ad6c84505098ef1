"""Security headers, cookie flags, CSRF on session-authenticated API writes, audit of refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.testing import web_login

SRC = Path(__file__).resolve().parents[2] / "src"


def _csp(response):
    return {
        part.strip().split(" ", 1)[0]: part.strip()
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    }


@pytest.mark.parametrize("path", ["/login/", "/api/v1/me/", "/password-reset/", "/profile/security/"])
def test_security_headers(client, org, path):
    if path == "/profile/security/":
        web_login(client, "sales_rep1")
    r = client.get(path)
    csp = _csp(r)
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" not in csp.get("style-src", "")
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Frame-Options"] == "DENY"


def test_auth_pages_have_no_inline_scripts_or_styles(client, org):
    from huoban.platform.identity.testing import enrol_totp

    enrol_totp(org.sales_rep2)
    pages = ["/login/", "/password-reset/", "/password-reset/sent/", "/password-reset/done/"]
    for path in pages:
        html = client.get(path).content.decode()
        assert "<script>" not in html and "style=" not in html and "onclick" not in html, path
    web_login(client, "sales_rep1")
    for path in ["/profile/security/", "/profile/security/2fa/", "/logout/"]:
        html = client.get(path).content.decode()
        assert "<script>" not in html and "style=" not in html and "onclick" not in html, path
    html = client.post("/profile/security/2fa/").content.decode()  # the page with the QR code
    assert "<svg" in html and "style=" not in html


def test_https_settings_from_environment(tmp_path):
    code = (
        "import json, huoban.settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SAMESITE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS']}))"
    )
    env = {
        **os.environ,
        "HUOBAN_HTTPS": "1",
        "HUOBAN_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(SRC),
        "DJANGO_SETTINGS_MODULE": "huoban.settings",
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    values = json.loads(out.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax" and values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["X_FRAME_OPTIONS"] == "DENY"


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookie_flags_over_https(client, org):
    page = client.get("/login/", secure=True)
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    r = client.post("/login/", {"username": "sales_rep1", "password": settings.DEMO_PASSWORD}, secure=True)
    assert r.status_code == 302
    session = r.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_session_cookie_flags_by_default(client, org):
    r = web_login(client, "sales_rep1")
    session = r.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert int(session["max-age"]) == 12 * 3600


# --- CSRF -----------------------------------------------------------------------------------------


def _csrf_login(client, username="sales_rep1"):
    client.get("/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    r = client.post(
        "/login/",
        {"username": username, "password": settings.DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        format="multipart",
    )
    assert r.status_code == 302, r.content
    return client.cookies[settings.CSRF_COOKIE_NAME].value  # rotated at login


def test_login_form_needs_csrf_token(org):
    c = APIClient(enforce_csrf_checks=True)
    r = c.post("/login/", {"username": "sales_rep1", "password": settings.DEMO_PASSWORD}, format="multipart")
    assert r.status_code == 403


def test_csrf_enforced_on_session_api_writes(org):
    c = APIClient(enforce_csrf_checks=True)
    token = _csrf_login(c)
    assert c.get("/api/v1/me/tokens/").status_code == 200  # reads need no token
    r = c.post("/api/v1/me/tokens/", {"name": "x"}, format="json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = c.post("/api/v1/me/tokens/", {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201
    r = c.post(
        "/api/v1/me/password/",
        {"old_password": "a", "new_password": "b"},
        format="json",
        HTTP_X_CSRFTOKEN="forged" * 6,
    )
    assert r.status_code == 403


def test_bearer_token_writes_need_no_csrf(org, api):
    raw = api(org.sales_rep1).post("/api/v1/me/tokens/", {"name": "t"}, format="json").json()["token"]
    c = APIClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.post("/api/v1/me/tokens/", {"name": "t2"}, format="json").status_code == 201


# --- audit of refusals ------------------------------------------------------------------------------


def test_access_denied_is_audited(org, api):
    r = api(org.sales_rep1).post("/api/v1/roles/", {"code": "x", "name": "X"}, format="json")
    assert r.status_code == 403
    ev = AuditEvent.objects.filter(action="access_denied", actor=org.sales_rep1).get()
    assert ev.data == {"method": "POST", "path": "/api/v1/roles/"}


def test_failed_login_audit_has_no_password(client, org):
    client.post("/login/", {"username": "sales_rep1", "password": "Secret-Guess-42"})
    APIClient().post(
        "/api/v1/auth/token/", {"username": "sales_rep1", "password": "Secret-Guess-43"}, format="json"
    )
    events = AuditEvent.objects.filter(action="login_failed")
    assert events.count() == 2
    dumped = json.dumps([[e.data, e.changes, e.object_repr] for e in events])
    assert "Secret-Guess" not in dumped


def test_audit_chain_still_verifies(client, org):
    from huoban.platform.audit.services import audit_verify

    client.post("/login/", {"username": "sales_rep1", "password": "nope-nope-nope"})
    web_login(client, "sales_rep1")
    client.post("/logout/")
    assert audit_verify().ok
