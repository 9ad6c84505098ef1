"""The settings area: administrators only; every write through a service, audited."""

from __future__ import annotations

import json

import pytest

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import OrgUnit, Role, User
from huoban.platform.records.models import CustomField, NumberingRule, Picklist, PicklistValue

PAGES = [
    "/settings/",
    "/settings/users/",
    "/settings/users/new/",
    "/settings/units/",
    "/settings/units/new/",
    "/settings/roles/",
    "/settings/roles/new/",
    "/settings/fields/",
    "/settings/fields/customer/",
    "/settings/fields/customer/new/",
    "/settings/picklists/",
    "/settings/numbering/",
    "/settings/numbering/customer/",
    "/settings/modules/",
    "/settings/audit/",
]


@pytest.fixture
def admin_client(client, org):
    client.force_login(org.admin)
    return client


def audited(object_type, action=None, **kw):
    qs = AuditEvent.objects.filter(object_type=object_type, **kw)
    if action:
        qs = qs.filter(action=action)
    return qs.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_admin_sees_every_page(admin_client, path):
    r = admin_client.get(path)
    assert r.status_code == 200, path
    assert b"<html" in r.content


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["sales_manager", "sales_rep1", "service_agent", "marketing", "finance"])
def test_other_roles_are_refused(client, org, username):
    client.force_login(org.users[username])
    for path in PAGES:
        assert client.get(path).status_code == 403, (username, path)
    r = client.post("/settings/modules/", {"module": "leads", "enabled": "0"})
    assert r.status_code == 403
    home = client.get("/")
    assert b'href="/settings/"' not in home.content


@pytest.mark.django_db
def test_anonymous_goes_to_login(client):
    r = client.get("/settings/users/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.django_db
def test_settings_visible_in_navigation_for_admin(admin_client):
    assert b'href="/settings/"' in admin_client.get("/settings/").content


# --- users ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_edit_deactivate_user(admin_client, org):
    rep = Role.objects.get(code="sales_rep")
    unit = org.units["east-sales"]
    r = admin_client.post(
        "/settings/users/new/",
        {
            "username": "wangfang",
            "display_name": "王芳",
            "email": "wf@example.com",
            "primary_unit": unit.pk,
            "roles": [rep.pk],
            "language": "zh-hans",
            "password": "a-long-enough-password-2026",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    user = User.objects.get(username="wangfang")
    assert (
        user.primary_unit == unit
        and list(user.roles.all()) == [rep]
        and user.check_password("a-long-enough-password-2026")
    )
    assert audited("user", "create", object_id=str(user.pk))

    mgr = Role.objects.get(code="sales_manager")
    r = admin_client.post(
        f"/settings/users/{user.pk}/",
        {
            "display_name": "王芳芳",
            "email": "wf@example.com",
            "primary_unit": org.units["east"].pk,
            "roles": [mgr.pk],
            "language": "",
        },
    )
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "王芳芳" and user.primary_unit == org.units["east"]
    assert list(user.roles.all()) == [mgr]
    assert audited("user", "permission_change", object_id=str(user.pk))

    r = admin_client.post(f"/settings/users/{user.pk}/active/")
    user.refresh_from_db()
    assert r.status_code == 302 and not user.is_active
    admin_client.post(f"/settings/users/{user.pk}/active/")
    user.refresh_from_db()
    assert user.is_active


@pytest.mark.django_db
def test_user_form_shows_service_errors(admin_client, org):
    r = admin_client.post("/settings/users/new/", {"username": "admin", "password": "short"})
    assert r.status_code == 400
    body = r.content.decode()
    assert "already exists" in body
    assert 'aria-invalid="true"' in body


@pytest.mark.django_db
def test_cannot_deactivate_yourself(admin_client, org):
    admin_client.post(f"/settings/users/{org.admin.pk}/active/")
    org.admin.refresh_from_db()
    assert org.admin.is_active


@pytest.mark.django_db
def test_reset_two_factor(admin_client, org):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=org.sales_rep1, name="phone", confirmed=True)
    assert b"Reset two-factor" in admin_client.get(f"/settings/users/{org.sales_rep1.pk}/").content
    r = admin_client.post(f"/settings/users/{org.sales_rep1.pk}/reset-2fa/")
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.sales_rep1).exists()
    assert audited("user", "two_factor", object_id=str(org.sales_rep1.pk))


@pytest.mark.django_db
def test_users_list_filters_and_no_n_plus_one(admin_client, org, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        r = admin_client.get("/settings/users/", {"q": "sales"})
    body = r.content.decode()
    assert "sales_rep1" in body and "finance@" not in body


# --- units ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unit_create_and_drag_to_reparent(admin_client, org):
    r = admin_client.post(
        "/settings/units/new/",
        {"name": "South China", "code": "south", "kind": "region", "parent": org.units["hq"].pk},
    )
    assert r.status_code == 302
    south = OrgUnit.objects.get(code="south")
    assert south.parent == org.units["hq"]
    team = org.units["east-sales"]
    r = admin_client.post(f"/settings/units/{team.pk}/move/", {"parent": south.pk, "position": "0"})
    assert r.status_code == 200 and r.json()["ok"]
    team.refresh_from_db()
    assert team.parent == south and team.path.startswith(south.path)
    assert audited("org_unit", "update", object_id=str(team.pk))
    # a unit cannot go below its own descendant
    r = admin_client.post(f"/settings/units/{south.pk}/move/", {"parent": team.pk})
    assert r.status_code == 400 and "parent" in r.json()["errors"]
    assert b"data-hb-unit-tree" in admin_client.get("/settings/units/").content


@pytest.mark.django_db
def test_unit_edit(admin_client, org):
    unit = org.units["marketing"]
    r = admin_client.post(
        f"/settings/units/{unit.pk}/",
        {
            "name": "Marketing & PR",
            "kind": "department",
            "parent": org.units["hq"].pk,
            "manager": org.marketing.pk,
            "active": "on",
        },
    )
    assert r.status_code == 302
    unit.refresh_from_db()
    assert unit.name == "Marketing & PR"


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_role_matrix_create_and_update(admin_client, org):
    r = admin_client.post(
        "/settings/roles/new/",
        {
            "code": "auditor",
            "name": "Auditor",
            "name_zh_hans": "审计员",
            "perm:customer:view": "1",
            "perm:customer:export": "1",
            "scope:customer": "all",
            "perm:audit_event:view": "1",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    role = Role.objects.get(code="auditor")
    assert role.permissions == {"customer": ["view", "export"], "audit_event": ["view"]}
    assert role.scopes == {"customer": "all"}
    assert audited("role", "role_change", object_id=str(role.pk))
    page = admin_client.get(f"/settings/roles/{role.pk}/").content.decode()
    assert 'name="perm:customer:export" value="1" checked' in page

    r = admin_client.post(
        f"/settings/roles/{role.pk}/",
        {"name": "Auditor", "version": role.version, "perm:customer:view": "1", "scope:customer": "unit"},
    )
    assert r.status_code == 302
    role.refresh_from_db()
    assert role.permissions == {"customer": ["view"]} and role.scopes == {"customer": "unit"}

    # a stale version is refused, not overwritten
    r = admin_client.post(f"/settings/roles/{role.pk}/", {"name": "X", "version": 1, "perm:lead:view": "1"})
    assert r.status_code == 400
    role.refresh_from_db()
    assert role.name == "Auditor"


@pytest.mark.django_db
def test_role_grants_access_to_a_settings_section(client, org):
    from huoban.platform.identity.services import role_create, user_set_roles

    role = role_create(
        actor=org.admin, code="auditors", name="Auditors", permissions={"audit_event": ["view"]}
    )
    user_set_roles(actor=org.admin, user=org.finance, roles=[*org.finance.roles.all(), role])
    client.force_login(org.finance)
    assert client.get("/settings/audit/").status_code == 200
    assert client.get("/settings/users/").status_code == 403


# --- custom fields ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_custom_fields_create_edit_reorder_deactivate(admin_client, org):
    r = admin_client.post(
        "/settings/fields/customer/new/",
        {
            "label": "Tier",
            "label_zh_hans": "等级",
            "key": "tier",
            "type": "single_select",
            "options": "a | Gold | 金牌\nb | Silver | 银牌",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    tier = CustomField.objects.get(object_type="customer", key="tier")
    assert tier.options[0] == {"value": "a", "label": "Gold", "label_zh_hans": "金牌"}
    r = admin_client.post(
        "/settings/fields/customer/new/",
        {"label": "Since", "key": "since", "type": "date", "default": "nope"},
    )
    assert r.status_code == 400 and "YYYY-MM-DD" in r.content.decode()
    r = admin_client.post(
        "/settings/fields/customer/new/", {"label": "Since", "key": "since", "type": "date"}
    )
    since = CustomField.objects.get(key="since")
    r = admin_client.post(
        f"/settings/fields/customer/{tier.pk}/",
        {
            "label": "Customer tier",
            "type": "single_select",
            "key": "x",
            "options": "a | Gold | 金牌",
            "required": "on",
        },
    )
    assert r.status_code == 302
    tier.refresh_from_db()
    assert tier.label == "Customer tier" and tier.key == "tier" and tier.required and len(tier.options) == 1
    r = admin_client.post(
        "/settings/fields/customer/reorder/",
        {"order": f"{since.pk},{tier.pk}"},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert r.status_code == 200
    assert list(
        CustomField.objects.filter(object_type="customer").order_by("order").values_list("key", flat=True)
    ) == ["since", "tier"]
    admin_client.post(f"/settings/fields/customer/{since.pk}/active/")
    since.refresh_from_db()
    assert not since.active
    assert audited("custom_field", "create") and audited("custom_field", "update")
    assert admin_client.get("/settings/fields/nosuchtype/").status_code == 404


# --- picklists --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_picklist_values(admin_client, org):
    pl, _ = Picklist.objects.get_or_create(
        key="test-source", defaults={"name": "Source", "name_zh_hans": "来源"}
    )
    r = admin_client.post(
        f"/settings/picklists/{pl.key}/", {"code": "web", "label": "Website", "label_zh_hans": "官网"}
    )
    assert r.status_code == 302
    v = PicklistValue.objects.get(picklist=pl, code="web")
    assert v.label_zh_hans == "官网"
    r = admin_client.post(f"/settings/picklists/{pl.key}/", {"code": "web", "label": "Again"})
    assert r.status_code == 400
    r = admin_client.post(
        f"/settings/picklists/{pl.key}/{v.pk}/",
        {"label": "Web site", "label_zh_hans": "网站", "order": 5, "active": ""},
    )
    assert r.status_code == 302
    v.refresh_from_db()
    assert (v.label, v.label_zh_hans, v.active) == ("Web site", "网站", False)
    assert audited("picklist_value", "update", object_id=str(v.pk))
    page = admin_client.get("/settings/picklists/").content.decode()
    assert "test-source" in page


# --- numbering --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_numbering_rule_edit_and_preview(admin_client, org):
    r = admin_client.get(
        "/settings/numbering/preview/",
        {"prefix": "KH", "date_pattern": "%Y", "separator": "-", "serial_length": "6"},
    )
    from django.utils import timezone

    year = timezone.localtime().strftime("%Y")
    assert f"KH{year}-000001" in r.content.decode()
    r = admin_client.get(
        "/settings/numbering/preview/", {"prefix": "", "date_pattern": "%Y", "serial_length": "6"}
    )
    assert "required" in r.content.decode()
    r = admin_client.post(
        "/settings/numbering/customer/",
        {"prefix": "KH", "date_pattern": "%Y", "separator": "-", "serial_length": "6"},
    )
    assert r.status_code == 302
    rule = NumberingRule.objects.get(object_type="customer")
    assert rule.preview() == f"KH{year}-000001"
    assert audited("numbering_rule")
    r = admin_client.post(
        "/settings/numbering/customer/", {"prefix": "K H", "date_pattern": "%Y", "serial_length": "60"}
    )
    assert r.status_code == 400


# --- modules ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_module_switch_hides_navigation(admin_client, client, org):
    from huoban.platform.ui.nav import module_enabled

    r = admin_client.post("/settings/modules/", {"module": "customers", "enabled": "0"})
    assert r.status_code == 302 and not module_enabled("customers")
    assert audited("module", "update", object_id="customers")
    r = admin_client.post("/settings/modules/", {"module": "settings", "enabled": "0"})
    assert module_enabled("settings")
    admin_client.post("/settings/modules/", {"module": "customers", "enabled": "1"})
    assert module_enabled("customers")


# --- audit log --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_log_filters_and_diffs(admin_client, org):
    from huoban.platform.identity.services import user_update

    user_update(actor=org.admin, user=org.sales_rep2, display_name="张伟伟")
    r = admin_client.get("/settings/audit/", {"object_type": "user", "actor": "admin", "action": "update"})
    body = r.content.decode()
    assert r.status_code == 200 and "张伟伟" in body and "display_name" in body
    r = admin_client.get("/settings/audit/", {"action": "login_failed"})
    assert "张伟伟" not in r.content.decode()
    r = admin_client.get("/settings/audit/", {"since": "not-a-date"})
    assert "YYYY-MM-DD" in r.content.decode()
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    r = admin_client.get("/settings/audit/", {"since": today, "until": today, "object_type": "user"})
    assert "张伟伟" in r.content.decode()


@pytest.mark.django_db
def test_audit_log_pages_by_seq(admin_client, org):
    from huoban.platform.audit.services import Entry, audit_log_many

    audit_log_many(actor=org.admin, entries=[Entry("other", "thing", i, f"thing {i}") for i in range(120)])
    r = admin_client.get("/settings/audit/", {"object_type": "thing"})
    body = r.content.decode()
    assert "thing 119" in body and "thing 60" not in body and "before=" in body
    last = AuditEvent.objects.filter(object_type="thing").order_by("seq")[69].seq + 1
    r = admin_client.get("/settings/audit/", {"object_type": "thing", "before": last})
    assert "thing 69" in r.content.decode()
    json.dumps({})
