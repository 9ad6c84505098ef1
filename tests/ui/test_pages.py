"""Generic record pages on customers: detail, tabs, inline edit, delete/restore, transfer, board."""

from __future__ import annotations

import pytest
from django.test import Client

from huoban.customers.models import Customer
from huoban.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def cust(org):
    return customer_create(
        confirm_duplicate=True,
        actor=org.sales_rep1,
        data={"name": "杭州示例科技有限公司", "phone": "13800138000"},
        tags=["VIP"],
    )


def test_detail_renders_with_tabs(org, cust):
    c = client_for(org.sales_rep1)
    r = c.get(f"/customers/{cust.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "杭州示例科技有限公司" in html and cust.number in html
    for tab in ("details", "timeline", "history"):
        assert f"?tab={tab}" in html
        r = c.get(f"/customers/{cust.pk}/tab/{tab}/", HTTP_HX_REQUEST="true")
        assert r.status_code == 200, tab
    assert c.get(f"/customers/{cust.pk}/?tab=history").status_code == 200
    assert c.get(f"/customers/{cust.pk}/tab/nope/").status_code == 404


def test_out_of_scope_detail_is_404(org, cust):
    assert client_for(org.sales_rep2).get(f"/customers/{cust.pk}/").status_code == 404
    assert client_for(org.sales_rep2).get(f"/customers/{cust.pk}/edit/").status_code == 404
    assert client_for(org.sales_manager).get(f"/customers/{cust.pk}/").status_code == 200
    assert client_for(org.sales_manager_north).get(f"/customers/{cust.pk}/").status_code == 404


def test_read_only_role_gets_no_edit_buttons_and_403(org, cust):
    c = client_for(org.service_agent)
    html = c.get(f"/customers/{cust.pk}/").content.decode()
    assert 'href="edit/"' not in html and 'action="delete/"' not in html
    assert c.get(f"/customers/{cust.pk}/edit/").status_code == 403
    assert c.post(f"/customers/{cust.pk}/delete/").status_code == 403
    assert c.get("/customers/new/").status_code == 403
    owner_html = client_for(org.sales_rep1).get(f"/customers/{cust.pk}/").content.decode()
    assert 'href="edit/"' in owner_html


def test_history_shows_readable_diffs(org, cust):
    customer_update(
        actor=org.sales_rep1, customer=cust, data={"lifecycle_stage": "customer"}, version=cust.version
    )
    html = client_for(org.sales_rep1).get(f"/customers/{cust.pk}/tab/history/").content.decode()
    assert "Lifecycle stage" in html
    assert "Prospect" in html and "Customer" in html
    timeline = client_for(org.sales_rep1).get(f"/customers/{cust.pk}/tab/timeline/").content.decode()
    assert "Updated" in timeline and "just now" in timeline


def test_inline_edit_uses_service_and_version(org, cust):
    c = client_for(org.sales_rep1)
    r = c.get(f"/customers/{cust.pk}/field/short_name/?edit=1", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'name="short_name"' in r.content.decode()
    r = c.post(
        f"/customers/{cust.pk}/field/short_name/",
        {"short_name": "示例", "version": cust.version},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200, r.content
    assert "hb:toast" in r["HX-Trigger"]
    cust.refresh_from_db()
    assert cust.short_name == "示例"
    # stale version: conflict shown, value kept
    r = c.post(
        f"/customers/{cust.pk}/field/short_name/", {"short_name": "旧", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 409
    assert "Reload" in r.content.decode()
    cust.refresh_from_db()
    assert cust.short_name == "示例"
    # a field that is not inline-editable
    assert c.get(f"/customers/{cust.pk}/field/number/?edit=1").status_code == 404
    # read-only user may not
    assert (
        client_for(org.service_agent)
        .post(f"/customers/{cust.pk}/field/short_name/", {"short_name": "x"})
        .status_code
        == 403
    )


def test_delete_and_restore_from_recycle_bin(org, cust):
    c = client_for(org.sales_manager)
    r = c.post(f"/customers/{cust.pk}/delete/", {"version": cust.version})
    assert r.status_code == 302
    assert Customer.objects.unrestricted().get(pk=cust.pk).deleted_at is not None
    assert c.get(f"/customers/{cust.pk}/").status_code == 404
    bin_html = c.get("/customers/deleted/").content.decode()
    assert "杭州示例科技有限公司" in bin_html
    # the rep cannot delete or see the bin (no delete permission)
    assert client_for(org.sales_rep1).get("/customers/deleted/").status_code == 403
    assert client_for(org.sales_rep1).post(f"/customers/{cust.pk}/restore/").status_code == 403
    # a manager of another region cannot restore (out of scope)
    assert client_for(org.sales_manager_north).post(f"/customers/{cust.pk}/restore/").status_code == 404
    r = c.post(f"/customers/{cust.pk}/restore/")
    assert r.status_code == 302
    assert Customer.objects.unrestricted().get(pk=cust.pk).deleted_at is None


def test_transfer(org, cust):
    c = client_for(org.sales_manager)
    r = c.post(f"/customers/{cust.pk}/transfer/", {"owner": org.sales_rep2.pk, "reason": "holiday"})
    assert r.status_code == 302
    cust.refresh_from_db()
    assert cust.owner_id == org.sales_rep2.pk
    assert (
        client_for(org.sales_rep1)
        .post(f"/customers/{cust.pk}/transfer/", {"owner": org.sales_rep1.pk})
        .status_code
        == 403
    )


def test_sensitive_fields_masked_and_reveal_button(org):
    cust = customer_create(
        confirm_duplicate=True,
        actor=org.admin,
        data={"name": "王小明", "kind": "individual", "id_number": "11010519491231002X"},
    )
    html = client_for(org.admin).get(f"/customers/{cust.pk}/").content.decode()
    assert "11010519491231002X" not in html
    assert "data-hb-reveal" in html
    mgr_scope_html = client_for(org.service_agent).get(f"/customers/{cust.pk}/").content.decode()
    assert "11010519491231002X" not in mgr_scope_html and "data-hb-reveal" not in mgr_scope_html


def test_plugins_related_timeline_tab(org, cust):
    """Other modules plug related lists, timeline providers and tabs into every detail page."""
    from django.utils import timezone

    from huoban.platform.access.scoping import scoped
    from huoban.platform.ui import pages as P

    other = customer_create(confirm_duplicate=True, actor=org.sales_rep1, data={"name": "同一负责人的客户"})
    hidden = customer_create(confirm_duplicate=True, actor=org.sales_rep2, data={"name": "不可见客户"})
    P.register_related(
        "customer",
        P.RelatedList(
            key="same_owner",
            label="Same owner",
            model=Customer,
            queryset=lambda user, obj: scoped(user, Customer).exclude(pk=obj.pk),
            columns=["name", "number"],
            add_url=lambda obj: "/customers/new/",
        ),
    )
    P.register_timeline(
        "customer",
        P.TimelineProvider(
            key="calls",
            label="Calls",
            items=lambda request, obj: [
                P.TimelineItem(at=timezone.now(), title="Called the buyer", kind="calls")
            ],
        ),
    )
    P.register_tab(
        "customer", P.Tab(key="extra", label="Extra", render=lambda request, obj: f"<p>extra {obj.pk}</p>")
    )
    try:
        c = client_for(org.sales_rep1)
        html = c.get(f"/customers/{cust.pk}/").content.decode()
        assert "?tab=related" in html and "?tab=extra" in html
        related = c.get(f"/customers/{cust.pk}/tab/related/").content.decode()
        assert "Same owner" in related and "同一负责人的客户" in related and "不可见客户" not in related
        assert f"/customers/{other.pk}/" in related and "/customers/new/" in related
        timeline = c.get(f"/customers/{cust.pk}/tab/timeline/").content.decode()
        assert "Called the buyer" in timeline and "Created" in timeline
        only_calls = c.get(f"/customers/{cust.pk}/tab/timeline/?kind=calls").content.decode()
        assert "Called the buyer" in only_calls and "Created" not in only_calls
        assert c.get(f"/customers/{cust.pk}/tab/extra/").content.decode() == f"<p>extra {cust.pk}</p>"
        # users who may not view the related type do not get the tab
        assert hidden.pk
    finally:
        P._RELATED["customer"].pop("same_owner", None)
        P._TIMELINE["customer"].pop("calls", None)
        P._TABS["customer"].pop("extra", None)


def test_nav_and_widget_registries(org):
    from huoban.platform.ui.nav import NavEntry, nav_for, register_nav, unregister_nav
    from huoban.platform.ui.widgets import _WIDGETS, Widget, register_widget

    register_nav(
        NavEntry(key="test.leads", module="leads", label="Test leads", url="/test-leads/", object_type="lead")
    )
    register_widget(
        Widget(
            key="test.w",
            title="Test widget",
            template="ui/widgets/notifications.html",
            object_type="lead",
            order=99,
        )
    )
    try:
        keys = lambda user: {e.key for g in nav_for(user) for e in g.entries}  # noqa: E731
        assert "test.leads" in keys(org.marketing) and "test.leads" in keys(org.sales_rep1)
        assert "test.leads" not in keys(org.users["finance"])
        assert "Test widget" in client_for(org.marketing).get("/").content.decode()
        assert "Test widget" not in client_for(org.users["finance"]).get("/").content.decode()
    finally:
        unregister_nav("test.leads")
        _WIDGETS.pop("test.w", None)
    import pytest as _p

    with _p.raises(ValueError):
        register_nav(NavEntry(key="x", module="nope", label="x", url="/x/"))


def test_phone_reads_the_same_in_header_details_inline_edit_and_board(org, cust):
    """One formatting path: the field's declared display serves the header, the details tab, the
    inline editor's redisplay and board cards (no raw E.164 anywhere)."""
    c = client_for(org.sales_rep1)
    header = c.get(f"/customers/{cust.pk}/").content.decode().split('class="card mb-3 hb-record-header"')[1]
    header = header.split("</dl>")[0]
    assert "138 0013 8000" in header and "+8613800138000</" not in header
    details = c.get(f"/customers/{cust.pk}/tab/details/").content.decode()
    assert "138 0013 8000" in details
    r = c.post(
        f"/customers/{cust.pk}/field/phone/",
        {"phone": "13222904894", "version": cust.version},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "132 2290 4894" in r.content.decode()
    board = c.get("/customers/board/").content.decode()
    assert "132 2290 4894" in board and "+8613222904894</" not in board
