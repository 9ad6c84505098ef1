"""UI polish: Import / Export actions on lists (per preset role), the import wizard's preselected
type, the step-up message with its link to /step-up/, list column layout classes, board cards."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from django.test import Client

from huoban.customers.models import Customer
from huoban.customers.services import customer_create
from huoban.platform.identity.models import Role
from huoban.platform.identity.testing import enrol_totp

pytestmark = pytest.mark.django_db

STEP_UP = "/step-up/?next="


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def import_link(html: str) -> str | None:
    m = re.search(r'<a href="([^"]*)" class="btn" data-hb-import', html)
    return m.group(1).replace("&amp;", "&") if m else None


def has_export(html: str) -> bool:
    return "data-hb-export=" in html


# --- Import / Export on list toolbars, per preset role -------------------------------------------------

# (user, list, import shown, export shown): preset roles (identity/presets.py). Customers, contacts,
# follow-ups and leads have registered importers; opportunities have none (export only).
MATRIX = [
    ("admin", "/customers/", True, True),
    ("admin", "/contacts/", True, True),
    ("admin", "/follow-ups/", True, True),
    ("admin", "/leads/", True, True),
    ("admin", "/opportunities/", False, True),
    ("sales_manager", "/customers/", True, True),
    ("sales_manager", "/leads/", True, True),
    ("sales_manager", "/opportunities/", False, True),
    ("sales_rep1", "/customers/", False, False),
    ("sales_rep1", "/contacts/", False, False),
    ("sales_rep1", "/leads/", False, False),
    ("sales_rep1", "/opportunities/", False, False),
    ("marketing", "/leads/", True, True),
    ("marketing", "/customers/", False, False),
    ("finance", "/customers/", False, False),
    ("service_agent", "/customers/", False, False),
]


@pytest.mark.parametrize(("username", "path", "can_import", "can_export"), MATRIX)
def test_import_and_export_actions_follow_the_permissions(org, username, path, can_import, can_export):
    r = client_for(org.users[username]).get(path)
    assert r.status_code == 200
    html = r.content.decode()
    link = import_link(html)
    assert bool(link) is can_import, (username, path)
    assert has_export(html) is can_export, (username, path)
    if can_import:
        assert link == f"/imports/new/?object_type={path.strip('/').replace('-', '_').rstrip('s')}"


def test_import_action_disappears_when_the_role_loses_the_permission(org):
    role = Role.objects.get(code="sales_manager")
    cl = client_for(org.sales_manager)
    assert import_link(cl.get("/customers/").content.decode())
    role.permissions = {
        **role.permissions,
        "customer": [a for a in role.permissions["customer"] if a != "import"],
    }
    role.save()
    html = client_for(org.sales_manager).get("/customers/").content.decode()
    assert import_link(html) is None
    assert has_export(html)  # export kept


def test_import_link_preselects_the_type_and_the_wizard_honours_it(org):
    cl = client_for(org.admin)
    link = import_link(cl.get("/leads/").content.decode())
    assert link == "/imports/new/?object_type=lead"
    html = cl.get(link).content.decode()
    selected = re.findall(r'<option value="(\w+)" selected>', html)
    assert selected == ["lead"]
    # another type from another list
    html = cl.get(import_link(cl.get("/contacts/").content.decode())).content.decode()
    assert re.findall(r'<option value="(\w+)" selected>', html) == ["contact"]


def test_wizard_keeps_the_chosen_type_after_a_refused_upload(org):
    cl = client_for(org.admin)
    r = cl.post("/imports/new/?object_type=customer", {"object_type": "lead"})  # no file
    assert r.status_code == 200
    html = r.content.decode()
    assert re.findall(r'<option value="(\w+)" selected>', html) == ["lead"]


def test_wizard_ignores_a_type_the_user_may_not_import(org):
    # marketing imports leads only: ?object_type=customer cannot preselect customers
    html = client_for(org.marketing).get("/imports/new/?object_type=customer").content.decode()
    options = re.findall(r'<option value="(\w+)"', html.split('id="id_object_type"')[1].split("</select>")[0])
    assert options == ["lead"]
    assert re.findall(r'<option value="(\w+)" selected>', html) == ["lead"]


def test_wizard_refuses_users_without_any_import_permission(org):
    assert client_for(org.sales_rep1).get("/imports/new/?object_type=customer").status_code == 403


# --- the step-up message carries its link -------------------------------------------------------------


def test_role_change_needing_step_up_links_to_step_up(org):
    enrol_totp(org.admin)  # 2FA on, no recent check: a role change must be confirmed first
    target = org.sales_rep1
    url = f"/settings/users/{target.pk}/"
    r = client_for(org.admin).post(
        url,
        {
            "username": target.username,
            "display_name": target.display_name,
            "roles": [Role.objects.get(code="sales_manager").pk],
        },
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "Confirm with your two-factor code to continue." in html
    assert f'href="{STEP_UP}{quote(url, safe="")}"' in html
    assert set(target.roles.values_list("code", flat=True)) == {"sales_rep"}  # nothing changed


def test_role_edit_needing_step_up_links_to_step_up(org):
    enrol_totp(org.admin)
    role = Role.objects.get(code="sales_rep")
    url = f"/settings/roles/{role.pk}/"
    r = client_for(org.admin).post(
        url, {"code": role.code, "name": role.name, "version": role.version}, HTTP_REFERER=url
    )
    assert f'href="{STEP_UP}{quote(url, safe="")}"' in r.content.decode()


def test_two_factor_reset_needing_step_up_goes_back_with_the_link(org):
    enrol_totp(org.admin)
    enrol_totp(org.sales_rep1)
    page = f"/settings/users/{org.sales_rep1.pk}/"
    cl = client_for(org.admin)
    r = cl.post(f"{page}reset-2fa/", HTTP_REFERER=f"http://testserver{page}")
    assert r.status_code == 302 and r["Location"] == page  # back to the page, not the POST-only address
    html = cl.get(page).content.decode()
    assert f'href="{STEP_UP}{quote(page, safe="")}"' in html


def test_bulk_delete_needs_step_up_and_the_message_links_to_it(org):
    c = customer_create(confirm_duplicate=True, actor=org.admin, data={"name": "Step-up 测试"})
    enrol_totp(org.admin)
    cl = client_for(org.admin)
    r = cl.post(
        "/customers/bulk/", {"action": "delete", "ids": [c.pk], "next": "/customers/?q=Step"}, follow=True
    )
    html = r.content.decode()
    assert f'href="{STEP_UP}{quote("/customers/?q=Step", safe="")}"' in html
    assert Customer.objects.filter(pk=c.pk, deleted_at__isnull=True).exists()


def test_step_up_refusal_on_a_page_and_for_htmx(org, rf):
    from django.contrib.auth.models import AnonymousUser  # noqa: F401  (request.user set below)

    from huoban.platform.ui.record_views import error_page

    req = rf.get("/customers/1/?tab=details")
    req.user = org.admin
    html = error_page(req, 403, step_up=True).content.decode()
    assert f'href="{STEP_UP}{quote("/customers/1/?tab=details", safe="")}"' in html

    hx = rf.get(
        "/customers/1/field/name/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/customers/1/",
    )
    hx.user = org.admin
    resp = error_page(hx, 403, step_up=True)
    toast = json.loads(resp["HX-Trigger"])["hb:toast"]
    assert toast["level"] == "error"
    assert toast["link"] == f"{STEP_UP}{quote('/customers/1/', safe='')}"
    assert "/step-up/" in resp.content.decode()


def test_users_without_two_factor_are_not_asked_to_step_up(org):
    c = customer_create(confirm_duplicate=True, actor=org.admin, data={"name": "No 2FA 测试"})
    r = client_for(org.admin).post(
        "/customers/bulk/", {"action": "delete", "ids": [c.pk], "next": "/customers/"}
    )
    assert r.status_code == 302
    assert not Customer.objects.filter(pk=c.pk, deleted_at__isnull=True).exists()


# --- list layout and board cards ----------------------------------------------------------------------


def test_list_cells_carry_their_kind_and_long_text_its_tooltip(org):
    long_name = "上海张江高科技园区开发股份有限公司华东区域销售服务中心"
    customer_create(confirm_duplicate=True, actor=org.admin, data={"name": long_name})
    html = (
        client_for(org.admin).get("/customers/?cols=name,lifecycle_stage,created_at,owner").content.decode()
    )
    assert 'class="hb-k-text hb-cell-primary"' in html
    assert f'title="{long_name}"' in html
    assert re.search(r'<th class="hb-k-choice"', html)
    assert re.search(r'<td data-label="[^"]*" class="hb-k-datetime">', html)  # dates: no tooltip, no cut
    assert 'class="hb-k-user"' in html


def test_board_card_does_not_repeat_the_customer_named_in_the_title(org):
    from huoban.platform.ui.templatetags.ui import already_in

    assert already_in("上海方圆医疗器械有限公司", "上海方圆医疗器械 · 营销云")
    assert already_in(
        '<a href="/customers/3/">Lakeside Media (Shanghai) Co., Ltd.</a>', "Lakeside Media · CRM"
    )
    assert already_in("—", "anything")
    assert not already_in("Suncoast Retail Inc.", "Suncoast Retai · CRM 企业版")
    assert not already_in("25", "CRM 25 seats")  # numbers never count as repeated


def test_board_card_shows_the_customer_only_when_the_title_does_not_name_it(org):
    from huoban.sales.services import opportunity_create

    named = customer_create(
        confirm_duplicate=True, actor=org.admin, data={"name": "杭州云栖数据科技有限公司"}
    )
    other = customer_create(confirm_duplicate=True, actor=org.admin, data={"name": "Northwind Trading Inc."})
    opportunity_create(actor=org.admin, data={"name": "杭州云栖数据科技 · 营销云", "customer": named})
    opportunity_create(actor=org.admin, data={"name": "ERP 集成 2027", "customer": other})
    html = client_for(org.admin).get("/opportunities/board/").content.decode()
    cards = re.findall(r'<article class="card card-sm hb-card.*?</article>', html, re.S)
    by_title = {re.search(r'class="hb-card-title" title="([^"]*)"', c).group(1): c for c in cards}
    assert "杭州云栖数据科技有限公司" not in by_title["杭州云栖数据科技 · 营销云"]
    assert "Northwind Trading Inc." in by_title["ERP 集成 2027"]
    assert 'class="hb-card-sub' in by_title["ERP 集成 2027"]


def test_json_values_read_as_text_on_detail_pages():
    from huoban.platform.ui.record_views import json_display

    assert json_display([{"name": "数据分析平台", "quantity": 50}]) == "数据分析平台 · 50"
    assert json_display(["Zoho", "用友"]) == "Zoho, 用友"
    assert json_display([]) == "—"


def test_audit_log_names_record_types_in_the_users_language(org):
    from django.utils import translation

    from huoban.platform.ui.templatetags.ui import type_label

    customer_create(confirm_duplicate=True, actor=org.admin, data={"name": "Audit 名称"})
    html = client_for(org.admin).get("/settings/audit/?object_type=customer").content.decode()
    assert "Customer · Audit 名称" in html
    with translation.override("zh-hans"):
        assert type_label("customer") == "客户"
        assert type_label("user") == "用户"
    assert type_label("something_else") == "something_else"


def test_a_refused_action_shows_the_validation_messages_not_their_dict(rf):
    """A ValidationError raised by a delete or restore reaches the toast as its messages."""
    from huoban.platform.errors import ValidationError
    from huoban.platform.ui.step_up import refusal_message

    exc = ValidationError({"customer": ["This customer has open opportunities."], "n": ["Second reason."]})
    text = str(refusal_message(rf.get("/"), exc))
    assert text == "This customer has open opportunities. Second reason."
