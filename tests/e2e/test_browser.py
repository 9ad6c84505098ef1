"""End-to-end flows in headless Chromium (Playwright + Debian's chromium).

One file on purpose: ``make test`` runs ``pytest -n 2 --dist loadfile``, so all browser tests
share one worker and one browser. Every page load is watched: a Content-Security-Policy
violation, an uncaught script error or a failed static file fails the test.

Needs ``/usr/bin/chromium`` (as root: ``apt-get install -y chromium``); without it these tests
are skipped with that message.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("HUOBAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip(
        f"end-to-end tests skipped: Chromium not found at {CHROMIUM} "
        "(install it with `apt-get install -y chromium`, or set HUOBAN_CHROMIUM)",
        allow_module_level=True,
    )

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Watch:
    """Collects CSP violations, script errors and failed requests of one page."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP: {text}")
        elif msg.type == "error" and "Failed to load resource" not in text:
            self.problems.append(f"console error: {text}")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # navigations away abort pending requests
            self.problems.append(f"request failed: {request.url} {failure}")

    def _response(self, response: Any) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.problems.append(f"static file {response.status}: {response.url}")

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}, locale="en-US"
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.on("dialog", lambda d: d.accept())  # confirm() of bulk delete, deactivation …
    watch = Watch(pg)
    pg.watch = watch  # type: ignore[attr-defined]
    yield pg
    context.close()
    watch.check()


def login(page: Page, username: str, password: str | None = None) -> None:
    from django.conf import settings

    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or settings.DEMO_PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


@pytest.fixture
def demo(org: Any) -> Any:
    """The demo org plus a few customers of sales_rep1 and a customer custom field."""
    from huoban.customers.services import customer_create
    from huoban.platform.records.models import CustomField

    CustomField.objects.create(
        object_type="customer",
        key="vip_level",
        label="VIP level",
        label_zh_hans="VIP 等级",
        type="text",
        order=10,
    )
    org.customers = [
        customer_create(actor=org.sales_rep1, data={"name": name, "owner": org.sales_rep1})
        for name in ("华为技术有限公司", "张记贸易", "Acme Trading")
    ]
    return org


def open_user_menu(page: Page) -> None:
    page.click("header [aria-label='Open user menu'], header .hb-avatar")


# --- flows --------------------------------------------------------------------------------------


def test_login_switch_language_logout(page: Page, demo: Any) -> None:
    login(page, "sales_rep1")
    expect(page.locator("h1.page-title")).to_be_visible()
    assert page.evaluate("document.documentElement.lang").startswith("en")
    # switch to Chinese from the user menu
    open_user_menu(page)
    page.locator("button[lang='zh-hans']:visible").first.click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang").lower() == "zh-hans"
    page.goto("/search/")  # the choice sticks across pages
    assert page.evaluate("document.documentElement.lang").lower() == "zh-hans"
    expect(page.locator("h1.page-title")).to_have_text("搜索")
    # and back, then log out
    open_user_menu(page)
    page.locator("button[lang='en']:visible").first.click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang").startswith("en")
    open_user_menu(page)
    page.locator("form[action='/logout/'] button[type=submit]:visible").first.click()
    page.wait_for_url(re.compile(r".*/login/.*"))
    page.goto("/customers/")
    assert "/login/" in page.url


def test_customer_with_custom_field_create_edit_and_validation(page: Page, demo: Any) -> None:
    from huoban.customers.models import Customer

    login(page, "sales_rep1")
    page.goto("/customers/new/")
    form = page.locator("#hb-record-form")
    # a validation error from the service, shown inline
    form.locator("button[type=submit].btn-primary").click()
    page.wait_for_load_state()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    expect(page.locator("[name=name].is-invalid, [name=name][aria-invalid=true]")).to_have_count(1)
    # now a valid record with the custom field
    page.fill("[name=name]", "深圳伙伴科技有限公司")
    page.fill("[name=cf_vip_level]", "Gold")
    page.locator("#hb-record-form button[type=submit].btn-primary").click()
    page.wait_for_url(re.compile(r".*/customers/\d+/$"))
    customer = Customer.objects.unrestricted().get(name="深圳伙伴科技有限公司")
    assert customer.custom_fields.get("vip_level") == "Gold"
    expect(page.locator("body")).to_contain_text("Gold")
    # edit
    page.goto(f"/customers/{customer.pk}/edit/")
    page.fill("[name=cf_vip_level]", "Platinum")
    page.locator("#hb-record-form button[type=submit].btn-primary").click()
    page.wait_for_url(re.compile(rf".*/customers/{customer.pk}/$"))
    customer.refresh_from_db()
    assert customer.custom_fields["vip_level"] == "Platinum"
    expect(page.locator("body")).to_contain_text("Platinum")


def test_filter_and_save_a_view(page: Page, demo: Any) -> None:
    from huoban.platform.ui.models import SavedView

    login(page, "sales_rep1")
    page.goto("/customers/")
    page.fill("#hb-list-q", "华为")
    page.press("#hb-list-q", "Enter")
    page.wait_for_url(re.compile(r".*q=.*"))
    rows = page.locator("input[data-hb-check]")
    expect(rows).to_have_count(1)
    expect(page.locator("main")).to_contain_text("华为技术有限公司")
    expect(page.locator("main")).not_to_contain_text("张记贸易")
    # save the filtered state as a named view
    page.locator(".dropdown-toggle:has(.ti-bookmarks)").click()  # the "Views" menu
    page.locator("[data-bs-target='#hb-save-view']").click()
    expect(page.locator("#hb-save-view")).to_be_visible()
    page.fill("#hb-view-name", "Huawei only")
    page.locator("#hb-save-view button[type=submit]").click()
    page.wait_for_load_state()
    view = SavedView.objects.get(name="Huawei only")
    assert "q=" in view.query
    # opening the view from a clean list restores the filter
    page.goto("/customers/")
    expect(page.locator("input[data-hb-check]")).to_have_count(3)
    page.locator(".dropdown-toggle:has(.ti-bookmarks)").click()
    page.locator(".hb-views-menu a", has_text="Huawei only").click()
    page.wait_for_load_state()
    expect(page.locator("input[data-hb-check]")).to_have_count(1)


def test_bulk_action_adds_a_tag(page: Page, demo: Any) -> None:
    from huoban.platform.records.services import current_tags

    login(page, "sales_rep1")
    page.goto("/customers/")
    page.locator("input[data-hb-check-all]").check()
    expect(page.locator("[data-hb-bulk]")).to_be_visible()
    page.select_option("#hb-bulk-action", "add_tag")
    page.fill("#hb-bulk-tag", "VIP")
    page.locator("[data-hb-bulk] button[type=submit]").click()
    page.wait_for_load_state()
    for c in demo.customers:
        assert current_tags(c) == ["VIP"]


def test_drag_a_kanban_card(page: Page, demo: Any) -> None:
    """The opportunity board when the sales module is there, else the customer lifecycle board.
    The move goes through the service: either the card stays in the new column and the record
    has the new stage, or the server refuses (stage rules) and the card visibly goes back."""
    from django.urls import NoReverseMatch, reverse

    try:
        board_url = reverse("opportunity-board")
    except NoReverseMatch:
        board_url = "/customers/board/"
    if board_url != "/customers/board/":
        import importlib

        from django.apps import apps

        from huoban.sales.services import default_pipeline, opportunity_create

        if default_pipeline() is None:  # transactional tests flush the pipeline its migration made
            importlib.import_module("huoban.sales.migrations.0002_default_pipeline").forwards(apps, None)

        for i, c in enumerate(demo.customers):
            opportunity_create(
                actor=demo.sales_rep1,
                data={"name": f"Deal {i}", "customer": c, "amount": "100000", "close_date": "2027-03-31"},
            )
    login(page, "sales_rep1")
    page.goto(board_url)
    columns = page.locator("[data-hb-column]")
    expect(columns.first.locator(".hb-card").first).to_be_visible()
    source, target = columns.nth(0), columns.nth(1)
    card = source.locator(".hb-card").first
    card_id = card.get_attribute("data-id")
    with page.expect_response(lambda r: r.request.method == "POST" and "/board/move" in r.url) as resp:
        drag(page, card, target)
    moved = target.locator(f".hb-card[data-id='{card_id}']")
    if resp.value.ok:
        expect(moved).to_have_count(1)
        if board_url == "/customers/board/":
            from huoban.customers.models import Customer

            obj = Customer.objects.unrestricted().get(pk=card_id)
            assert obj.lifecycle_stage == target.get_attribute("data-hb-column")
        else:
            from huoban.sales.models import Opportunity

            obj = Opportunity.objects.unrestricted().get(pk=card_id)
            assert str(obj.stage_id) == target.get_attribute("data-hb-column")
    else:  # refused by the stage rules: rolled back, visibly
        expect(source.locator(f".hb-card[data-id='{card_id}']")).to_have_count(1)
        expect(moved).to_have_count(0)


def drag(page: Page, card: Any, target: Any, dy: float = 30) -> None:
    """Drag with real mouse moves (SortableJS listens to pointer events); drop ``dy`` pixels
    below the top of ``target``."""
    box = card.bounding_box()
    tbox = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + box["height"] / 2 + 10, steps=4)
    page.wait_for_timeout(100)
    page.mouse.move(tbox["x"] + tbox["width"] / 2, tbox["y"] + dy, steps=20)
    page.wait_for_timeout(100)
    page.mouse.move(tbox["x"] + tbox["width"] / 2, tbox["y"] + dy + 2, steps=4)
    page.wait_for_timeout(100)
    page.mouse.up()


def test_settings_unit_tree_drag_and_global_search(page: Page, demo: Any) -> None:
    from huoban.platform.identity.models import OrgUnit

    login(page, "admin")
    page.goto("/settings/units/")
    team = OrgUnit.objects.get(code="north-sales")
    east = OrgUnit.objects.get(code="east")
    handle = page.locator(f"li.hb-unit[data-id='{team.pk}'] > .hb-unit-row .hb-drag-handle")
    # drop onto the upper part of East China's first child: the team joins East China's list
    target = page.locator(
        f"li.hb-unit[data-id='{east.pk}'] > ul[data-hb-unit-tree] > li > .hb-unit-row"
    ).first
    with page.expect_response(re.compile(r".*/settings/units/\d+/move/$")) as resp:
        drag(page, handle, target, dy=6)
    assert resp.value.ok
    team.refresh_from_db()
    assert team.parent_id == east.pk
    # global search from the top bar ("/" focuses it)
    page.goto("/")
    page.keyboard.press("/")
    page.keyboard.type("华为")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/search/\?q=.*"))
    expect(page.locator("[data-hb-search-results]")).to_contain_text("华为技术有限公司")


def test_sales_rep_cannot_open_settings(page: Page, demo: Any) -> None:
    login(page, "sales_rep2")
    expect(page.locator("aside a[href='/settings/']")).to_have_count(0)
    response = page.goto("/settings/users/")
    assert response is not None and response.status == 403
    page.goto("/search/?q=华为")
    expect(page.locator("[data-hb-search-results]")).not_to_contain_text("华为技术有限公司")
