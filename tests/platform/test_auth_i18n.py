"""The sign-in and security pages speak Simplified Chinese; the catalogue is complete."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from huoban.platform.identity.testing import web_login

LOCALE = Path(__file__).resolve().parents[2] / "src/huoban/platform/identity/locale/zh_Hans/LC_MESSAGES"


def test_catalogue_is_complete_and_compiled():
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = po.split("\n\n")[1:]  # skip the header
    empty = [e for e in entries if re.search(r'^msgstr(\[0\])? ""\n?$', e.strip(), re.M) and "#~" not in e]
    assert not empty, empty[:3]
    assert "#, fuzzy" not in po
    mo = LOCALE / "django.mo"
    assert mo.exists() and mo.stat().st_mtime >= (LOCALE / "django.po").stat().st_mtime - 1


def test_login_page_in_chinese(client, db):
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录伙伴 CRM" in html and "用户名" in html and "忘记密码？" in html


def test_lockout_message_in_chinese():
    from huoban.platform.identity.lockout import lockout_message

    with translation.override("zh-hans"):
        assert "锁定 15 分钟" in lockout_message()


def test_security_page_in_chinese(client, org):
    org.sales_rep1.language = "zh-hans"
    org.sales_rep1.save()
    web_login(client, "sales_rep1")
    html = client.get("/profile/security/").content.decode()
    assert "双重认证" in html and "API 令牌" in html and "修改密码" in html


def test_api_errors_in_chinese(org, api):
    r = api(org.sales_rep1).post(
        "/api/v1/me/password/",
        {"old_password": "wrong-wrong-1", "new_password": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.json()["old_password"] == ["原密码输入错误。"]
