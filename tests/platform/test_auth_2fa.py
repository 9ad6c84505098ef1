"""TOTP enrolment / disable / admin reset through the API, and step-up."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import Role
from huoban.platform.identity.testing import enrol_totp, totp_code, wrong_code


def test_status_start_confirm_disable(org, api):
    c = api(org.sales_rep1)
    assert c.get("/api/v1/me/2fa/").json() == {
        "enabled": False,
        "required": False,
        "pending": False,
        "step_up_fresh": False,
        "step_up_until": None,
    }
    r = c.post("/api/v1/me/2fa/")
    assert r.status_code == 201
    body = r.json()
    uri = urlparse(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path == "/Huoban%20CRM:sales_rep1"
    params = parse_qs(uri.query)
    assert params["secret"] == [body["secret"]] and params["issuer"] == ["Huoban CRM"]
    assert params["digits"] == ["6"] and params["period"] == ["30"]
    svg = body["qr_svg"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert (
        "style=" not in svg
        and "<script" not in svg
        and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert c.get("/api/v1/me/2fa/").json()["pending"] is True
    device = TOTPDevice.objects.get(user=org.sales_rep1)
    assert device.confirmed is False
    # a wrong code does not confirm
    r = c.post("/api/v1/me/2fa/confirm/", {"otp": wrong_code(device)}, format="json")
    assert r.status_code == 400 and "otp" in r.json()
    r = c.post("/api/v1/me/2fa/confirm/", {"otp": totp_code(device)}, format="json")
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert AuditEvent.objects.filter(action="two_factor", data__enabled=True).exists()
    # starting again while on is refused
    assert c.post("/api/v1/me/2fa/start/").status_code == 400
    # disabling needs a valid code
    r = c.delete("/api/v1/me/2fa/", {"otp": wrong_code(device)}, format="json")
    assert r.status_code == 400
    assert c.delete("/api/v1/me/2fa/", {}, format="json").status_code == 400
    r = c.delete("/api/v1/me/2fa/", {"otp": totp_code(device)}, format="json")
    assert r.status_code == 204
    assert not TOTPDevice.objects.filter(user=org.sales_rep1).exists()
    assert AuditEvent.objects.filter(action="two_factor", data__enabled=False).exists()


def test_restart_replaces_unconfirmed_device(org, api):
    c = api(org.sales_rep1)
    first = c.post("/api/v1/me/2fa/").json()["secret"]
    second = c.post("/api/v1/me/2fa/start/").json()["secret"]
    assert first != second
    assert TOTPDevice.objects.filter(user=org.sales_rep1).count() == 1


def test_confirm_without_start(org, api):
    r = api(org.sales_rep1).post("/api/v1/me/2fa/confirm/", {"otp": "123456"}, format="json")
    assert r.status_code == 400 and "otp" in r.json()


def test_unconfirmed_device_does_not_count(org, api, client):
    enrol_totp(org.sales_rep1, confirmed=False)
    assert api(org.sales_rep1).get("/api/v1/me/").json()["two_factor_enabled"] is False
    r = client.post("/login/", {"username": "sales_rep1", "password": "huoban-demo-2026"})
    assert r["Location"] == "/"


def test_cannot_disable_when_role_requires(org, api):
    device = enrol_totp(org.sales_rep1)
    Role.objects.filter(code="sales_rep").update(require_2fa=True)
    r = api(org.sales_rep1).delete("/api/v1/me/2fa/", {"otp": totp_code(device)}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "2fa_required"
    assert TOTPDevice.objects.filter(user=org.sales_rep1).exists()


def test_admin_reset(org, api):
    enrol_totp(org.sales_rep1)
    r = api(org.sales_rep2).post(f"/api/v1/users/{org.sales_rep1.pk}/reset-2fa/")
    assert r.status_code == 403
    r = api(org.admin).post(f"/api/v1/users/{org.sales_rep1.pk}/reset-2fa/")
    assert r.status_code == 200 and r.json() == {"two_factor_enabled": False}
    assert not TOTPDevice.objects.filter(user=org.sales_rep1).exists()
    assert AuditEvent.objects.filter(action="two_factor", data__reset=True, actor=org.admin).exists()


def test_admin_reset_needs_step_up_when_admin_has_2fa(org, api):
    admin_device = enrol_totp(org.admin)
    enrol_totp(org.sales_rep1)
    c = api(org.admin)
    r = c.post(f"/api/v1/users/{org.sales_rep1.pk}/reset-2fa/")
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    # the refusal names where to confirm; following it, the retry passes
    assert c.post(r.json()["step_up"], {"otp": totp_code(admin_device)}, format="json").status_code == 200
    assert c.post(f"/api/v1/users/{org.sales_rep1.pk}/reset-2fa/").status_code == 200


def test_reset_command(org):
    from django.core.management import call_command

    enrol_totp(org.sales_rep1)
    call_command("reset2fa", "sales_rep1", stdout=io.StringIO())
    assert not TOTPDevice.objects.filter(user=org.sales_rep1).exists()


# --- step-up -----------------------------------------------------------------------------------


def _role_patch(c, role, **changes):
    return c.patch(f"/api/v1/roles/{role.pk}/", changes, format="json")


def test_step_up_window(org, api):
    device = enrol_totp(org.admin)
    c = api(org.admin)
    role = Role.objects.get(code="marketing")
    r = _role_patch(c, role, description="x")
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    assert AuditEvent.objects.filter(action="access_denied", actor=org.admin).exists()
    # wrong code: refused and audited
    r = c.post("/api/v1/me/step-up/", {"otp": wrong_code(device)}, format="json")
    assert r.status_code == 400 and "otp" in r.json()
    assert AuditEvent.objects.filter(action="step_up", data__success=False).exists()
    r = c.post("/api/v1/me/step-up/", {"otp": totp_code(device)}, format="json")
    assert r.status_code == 200 and r.json()["step_up_until"]
    org.admin.refresh_from_db()
    assert org.admin.last_step_up_at is not None
    assert AuditEvent.objects.filter(action="step_up", data__success=True).exists()
    assert _role_patch(c, role, description="y").status_code == 200
    assert c.get("/api/v1/me/2fa/").json()["step_up_fresh"] is True
    # 11 minutes later the window is closed again (default 10)
    type(org.admin).objects.filter(pk=org.admin.pk).update(
        last_step_up_at=timezone.now() - timedelta(minutes=11)
    )
    c2 = api(type(org.admin).objects.get(pk=org.admin.pk))
    assert _role_patch(c2, role, description="z").json()["code"] == "step_up_required"


def test_step_up_window_is_configurable(org, api):
    enrol_totp(org.admin)
    type(org.admin).objects.filter(pk=org.admin.pk).update(
        last_step_up_at=timezone.now() - timedelta(minutes=11)
    )
    admin = type(org.admin).objects.get(pk=org.admin.pk)
    role = Role.objects.get(code="marketing")
    with override_settings(STEP_UP_WINDOW=20 * 60):
        assert _role_patch(api(admin), role, description="ok").status_code == 200


def test_step_up_without_2fa(org, api):
    c = api(org.admin)
    r = c.post("/api/v1/me/step-up/", {"otp": "123456"}, format="json")
    assert r.status_code == 400
    # users without 2FA are not asked for step-up
    assert _role_patch(c, Role.objects.get(code="marketing"), description="n").status_code == 200


@pytest.mark.parametrize("kind", ["create_role", "delete_role", "user_roles", "user_create_with_roles"])
def test_sensitive_admin_actions_need_step_up(org, api, kind):
    enrol_totp(org.admin)
    c = api(org.admin)
    if kind == "create_role":
        r = c.post("/api/v1/roles/", {"code": "auditor", "name": "Auditor"}, format="json")
    elif kind == "delete_role":
        role = Role.objects.create(code="temp", name="Temp")
        r = c.delete(f"/api/v1/roles/{role.pk}/")
    elif kind == "user_roles":
        r = c.patch(f"/api/v1/users/{org.sales_rep1.pk}/", {"roles": ["sales_manager"]}, format="json")
    else:
        r = c.post("/api/v1/users/", {"username": "newbie", "roles": ["administrator"]}, format="json")
    assert r.status_code == 403, r.content
    assert r.json()["code"] == "step_up_required"
    assert list(org.sales_rep1.roles.values_list("code", flat=True)) == ["sales_rep"]


def test_user_update_without_role_change_needs_no_step_up(org, api):
    enrol_totp(org.admin)
    c = api(org.admin)
    r = c.patch(
        f"/api/v1/users/{org.sales_rep1.pk}/", {"phone": "13800000000", "roles": ["sales_rep"]}, format="json"
    )
    assert r.status_code == 200, r.content


def test_web_step_up_page(client, org):
    from huoban.platform.identity.testing import web_login

    device = enrol_totp(org.sales_rep1)
    web_login(client, "sales_rep1", otp_device=device)
    page = client.get("/step-up/?next=/customers/")
    assert page.status_code == 200 and 'name="otp"' in page.content.decode()
    bad = client.post("/step-up/", {"otp": wrong_code(device), "next": "/customers/"})
    assert bad.status_code == 400
    ok = client.post("/step-up/", {"otp": totp_code(device), "next": "https://evil.example/"})
    assert ok.status_code == 302 and ok["Location"] == "/profile/security/"
    org.sales_rep1.refresh_from_db()
    assert org.sales_rep1.last_step_up_at is not None


def test_turn_on_and_off_on_security_page(client, org):
    from huoban.platform.identity.testing import web_login

    web_login(client, "sales_rep1")
    page = client.get("/profile/security/").content.decode()
    assert 'action="/profile/security/2fa/"' in page
    enrol = client.post("/profile/security/2fa/")
    assert enrol.status_code == 200 and "<svg" in enrol.content.decode()
    device = TOTPDevice.objects.get(user=org.sales_rep1)
    r = client.post("/profile/security/2fa/confirm/", {"otp": totp_code(device)})
    assert r.status_code == 302 and r["Location"] == "/profile/security/"
    page = client.get("/profile/security/").content.decode()
    assert 'action="/profile/security/2fa/disable/"' in page
    bad = client.post("/profile/security/2fa/disable/", {"otp": wrong_code(device)})
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    ok = client.post("/profile/security/2fa/disable/", {"otp": totp_code(device)})
    assert ok.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.sales_rep1).exists()
