"""The shell: navigation per role, home widgets, profile, language switch, notifications."""

from __future__ import annotations

import pytest
from django.test import Client

from huoban.platform.notifications.services import notify

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def nav_links(html: str) -> set[str]:
    import re

    side = html.split('id="sidebar-menu"', 1)[1].split("</aside>", 1)[0]
    return set(re.findall(r'href="(/[^"]*)"', side))


@pytest.mark.parametrize(
    "username",
    ["admin", "sales_manager", "sales_rep1", "service_agent", "marketing", "finance"],
)
def test_home_renders_for_each_role(org, username):
    r = client_for(org.users[username]).get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="sidebar-menu"' in html
    assert "hb-global-search" in html
    assert "/logout/" in html


def test_nav_shows_only_permitted_modules(org):
    admin = nav_links(client_for(org.admin).get("/").content.decode())
    assert "/customers/" in admin and "/settings/" in admin
    rep = nav_links(client_for(org.sales_rep1).get("/").content.decode())
    assert "/customers/" in rep
    assert "/settings/" not in rep
    # a role without customer permissions does not see Customers
    from huoban.platform.identity.models import Role

    nobody = org.users["finance"]
    role = Role.objects.create(code="empty", name="Empty", permissions={}, scopes={})
    nobody.roles.set([role])
    html = client_for(nobody).get("/").content.decode()
    assert "/customers/" not in nav_links(html)


def test_module_switch_hides_module(org):
    from huoban.platform.ui.nav import set_module_enabled

    set_module_enabled("customers", False)
    try:
        html = client_for(org.admin).get("/").content.decode()
        assert "/customers/" not in nav_links(html)
    finally:
        set_module_enabled("customers", True)
    assert "/customers/" in nav_links(client_for(org.admin).get("/").content.decode())


def test_shell_requires_login(client):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_notification_bell_and_mark_read(org):
    user = org.sales_rep1
    n = notify(
        recipient=user,
        verb="test",
        title="Customer %(name)s was assigned to you",
        title_args={"name": "ACME"},
        url="/customers/",
    )
    c = client_for(user)
    html = c.get("/").content.decode()
    assert 'id="hb-unread"' in html
    menu = c.get("/notifications/menu/", HTTP_HX_REQUEST="true").content.decode()
    assert "ACME" in menu
    r = c.get(f"/notifications/{n.pk}/open/")
    assert r.status_code == 302 and r["Location"] == "/customers/"
    n.refresh_from_db()
    assert n.read_at is not None
    notify(recipient=user, verb="test", title="Second")
    r = c.post("/notifications/read/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert user.notifications.filter(read_at__isnull=True).count() == 0
    # other users' notifications are not reachable
    other = notify(recipient=org.sales_rep2, verb="test", title="Private")
    assert c.get(f"/notifications/{other.pk}/open/").status_code == 404


def test_language_switch_sets_session_and_profile(org):
    user = org.sales_rep1
    c = client_for(user)
    r = c.post("/language/", {"language": "zh-hans", "next": "/"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.language == "zh-hans"
    assert c.session["huoban_language"] == "zh-hans"
    html = c.get("/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "客户" in html
    # an unsafe next is ignored
    r = c.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_profile_edit(org):
    user = org.sales_rep2
    c = client_for(user)
    assert c.get("/profile/").status_code == 200
    r = c.post(
        "/profile/", {"display_name": "张伟 Z.", "language": "en", "time_zone": "Europe/Berlin", "phone": ""}
    )
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "张伟 Z." and user.time_zone == "Europe/Berlin"
    r = c.post("/profile/", {"display_name": "x", "language": "xx", "time_zone": "Mars/Base"})
    assert r.status_code == 200
    assert "is-invalid" in r.content.decode()


def test_home_widgets(org):
    from huoban.customers.services import customer_create

    customer_create(confirm_duplicate=True, actor=org.sales_rep1, data={"name": "上海甲公司"})
    html = client_for(org.sales_rep1).get("/").content.decode()
    assert "My open records" in html or "我的记录" in html
    assert "/customers/?owner=me" in html
    assert "Key figures" in html


def test_lookup_is_scoped(org):
    from huoban.customers.services import customer_create

    mine = customer_create(confirm_duplicate=True, actor=org.sales_rep1, data={"name": "杭州乙公司"})
    theirs = customer_create(confirm_duplicate=True, actor=org.sales_rep2, data={"name": "杭州丙公司"})
    data = client_for(org.sales_rep1).get("/lookup/customer/?q=杭州").json()
    ids = {r["value"] for r in data["results"]}
    assert mine.pk in ids and theirs.pk not in ids
    users = client_for(org.sales_rep1).get("/lookup/user/?q=sales_rep").json()["results"]
    assert {u["text"] for u in users} >= {"李娜 Li Na", "张伟 Zhang Wei"}
    assert client_for(org.marketing).get("/lookup/ticket/?q=x").status_code == 404


def test_job_progress_page(org):
    from huoban.platform.jobs.models import Job

    job = Job.objects.create(
        kind="export", title="Export customers", actor=org.sales_rep1, progress=40, status="running"
    )
    r = client_for(org.sales_rep1).get(f"/jobs/{job.pk}/")
    assert r.status_code == 200 and 'data-hb-job="/api/v1/jobs/' in r.content.decode()
    assert client_for(org.sales_rep2).get(f"/jobs/{job.pk}/").status_code == 404


def test_static_vendor_files_are_found():
    from django.contrib.staticfiles import finders

    for path in ["@tabler/core/dist/css/tabler.min.css", "htmx.org/dist/htmx.min.js", "ui/ui.js"]:
        assert finders.find(path), path
    assert finders.find("@tabler/core/package.json") is None  # only the allow-list is served
