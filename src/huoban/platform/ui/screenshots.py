"""Screenshots of the main pages at desktop (1440 px) and phone (375 px) width.

    python -m huoban.platform.ui.screenshots                      # own server + demo data
    python -m huoban.platform.ui.screenshots --url http://127.0.0.1:8000   # a running install
    make screenshots

Without ``--url`` it builds a scratch SQLite database under ``var/screenshots/`` (migrate, demo
data, a few sample records when the demo has none), starts the app on a free port and stops it
afterwards. It logs in as the administrator and as a sales rep, in English and in Chinese (demo
password, or ``--password``), and writes ``var/screenshots/<width>/<who>-<page>.png``: home, the
lists, detail, a form with errors, the boards, the import wizard, search and the settings area. Needs Chromium
(``/usr/bin/chromium``; ``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": (1440, 900), "phone": (375, 812)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _root() -> Path:
    return Path(os.environ.get("HUOBAN_HOME") or Path(__file__).resolve().parents[4])


def sample_data() -> None:
    """A handful of records for the pages to show, when the demo data brings none."""
    from huoban.platform.access import registry
    from huoban.platform.identity.models import User
    from huoban.platform.records.models import CustomField

    ot = registry.find("customer")
    if ot is None or ot.model._default_manager.unrestricted().exists():
        return
    from huoban.customers.services import customer_create

    CustomField.objects.get_or_create(
        object_type="customer",
        key="vip_level",
        defaults={"label": "VIP level", "label_zh_hans": "VIP 等级", "type": "text", "order": 10},
    )
    reps = {
        u.username: u for u in User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3"])
    }
    names = [
        ("华为技术有限公司", "sales_rep1", "+86 755 2878 0808"),
        ("深圳市腾讯计算机系统有限公司", "sales_rep1", "+86 755 8601 3388"),
        ("杭州阿里巴巴网络技术有限公司", "sales_rep2", "+86 571 8502 2088"),
        ("北京字节跳动科技有限公司", "sales_rep3", "+86 10 5825 6666"),
        ("上海张江高科技园区开发股份有限公司", "sales_rep2", "+86 21 3898 8888"),
        ("张家港保税区华信贸易有限公司", "sales_rep1", "+86 512 5632 1234"),
        ("Acme Trading (Shanghai) Co., Ltd.", "sales_rep1", "+86 21 6288 1000"),
        ("苏州博瑞医药科技有限公司", "sales_rep3", "+86 512 6956 7788"),
        ("成都天成物流有限公司", "sales_rep2", "+86 28 8556 0011"),
        ("南京永泰建材有限公司", "sales_rep1", "+86 25 8431 2200"),
    ]
    for i, (name, rep, phone) in enumerate(names):
        owner = reps.get(rep)
        data: dict[str, Any] = {"name": name, "phone": phone, "owner": owner}
        stage = ["prospect", "customer", "loyal", "prospect", "dormant"][i % 5]
        if any(f.name == "lifecycle_stage" for f in ot.model._meta.get_fields()):
            data["lifecycle_stage"] = stage
        try:
            customer_create(
                actor=owner,
                data=data,
                custom_fields={"vip_level": ["Gold", "Silver", ""][i % 3]} if i % 3 < 2 else None,
            )
        except Exception as exc:  # the customers module may refuse a sample (e.g. stricter checks)
            print(f"  sample {name}: {exc}", file=sys.stderr)


def prepare_database(var: Path) -> dict[str, str]:
    db = var / "screenshots.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "DJANGO_SETTINGS_MODULE": "huoban.settings",
            "HUOBAN_DEBUG": "1",  # static files from the finders; no collectstatic needed
            "HUOBAN_AXES_DISABLED": "1",
            "HUOBAN_JOBS_IMMEDIATE": "1",
            "HUOBAN_LOG_LEVEL": env.get("HUOBAN_LOG_LEVEL", "WARNING"),
        }
    )
    src = str(_root() / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [src, env.get("PYTHONPATH", "")] if p)
    py = sys.executable
    for cmd in (["migrate", "--noinput", "-v", "0"], ["demo", "--quiet"]):
        subprocess.run([py, "-m", "django", *cmd], env=env, check=True)
    code = (
        "import django; django.setup(); from huoban.platform.ui.screenshots import sample_data; sample_data()"
    )
    subprocess.run([py, "-c", code], env=env, check=True)
    subprocess.run([py, "-m", "django", "search-reindex", "-v", "0"], env=env, check=True)
    return env


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),  # a file, not a pipe: an unread pipe fills up and blocks the server
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return proc, url
        except Exception:
            if proc.poll() is not None:
                raise SystemExit(f"the app did not start; see {log}")
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the app did not answer on /healthz within 30 s")


class Shooter:
    def __init__(self, browser: Any, base: str, out: Path, password: str) -> None:
        self.browser, self.base, self.out, self.password = browser, base, out, password
        self.saved: list[Path] = []
        self.problems: list[str] = []

    def session(self, who: str, width_name: str, username: str | None) -> Any:
        w, h = WIDTHS[width_name]
        ctx = self.browser.new_context(
            base_url=self.base,
            viewport={"width": w, "height": h},
            device_scale_factor=1,
            is_mobile=width_name == "phone",
            has_touch=width_name == "phone",
            locale="zh-CN" if who.endswith("zh") else "en-US",
        )
        page = ctx.new_page()
        page.set_default_timeout(20000)
        page.on(
            "pageerror",
            lambda exc: self.problems.append(f"{who}/{width_name} {page.url}: script error {exc}"),
        )
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"{who}/{width_name} {page.url}: {m.text}")
                if m.type == "error" or "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("dialog", lambda d: d.accept())
        if username:
            page.goto("/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", self.password)
            page.click("form[action='/login/'] button[type=submit]")
            page.wait_for_load_state("networkidle")
        return ctx, page

    def shot(self, page: Any, width_name: str, who: str, name: str, path: str | None = None) -> None:
        try:
            if path is not None:
                resp = page.goto(path)
                if resp is not None and resp.status >= 400:
                    self.problems.append(f"{who}/{width_name} {path}: HTTP {resp.status}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(250)
            target = self.out / width_name / f"{who}-{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
            self.saved.append(target)
        except Exception as exc:
            self.problems.append(f"{who}/{width_name} {name}: {exc}")


def first_detail_path(page: Any, list_path: str) -> str | None:
    page.goto(list_path)
    link = page.locator("main table a[href*='/'][href$='/']").first
    try:
        href = link.get_attribute("href", timeout=3000)
    except Exception:
        return None
    return href


ADMIN_PAGES = [
    ("settings", "/settings/"),
    ("settings-users", "/settings/users/"),
    ("settings-user", "/settings/users/new/"),
    ("settings-units", "/settings/units/"),
    ("settings-roles", "/settings/roles/"),
    ("settings-role-matrix", "/settings/roles/2/"),
    ("settings-fields", "/settings/fields/customer/"),
    ("settings-picklists", "/settings/picklists/"),
    ("settings-numbering", "/settings/numbering/customer/"),
    ("settings-modules", "/settings/modules/"),
    ("settings-audit", "/settings/audit/"),
    ("settings-lead-scoring", "/settings/lead-scoring/"),
    ("settings-lead-assignment", "/settings/lead-assignment/"),
    ("settings-leads", "/settings/leads/"),
    ("settings-sales", "/settings/sales/"),
    ("settings-pipelines", "/settings/pipelines/"),
    ("search", "/search/?q=华为"),
    ("search-one-char", "/search/?q=张"),
]


# Lists of the sales modules (skipped when a module is not installed), and their boards.
LIST_PAGES = [
    ("contacts", "/contacts/"),
    ("follow-ups", "/follow-ups/"),
    ("leads", "/leads/"),
    ("opportunities", "/opportunities/"),
    ("tasks", "/tasks/"),
]


def _shot_if_there(s: Shooter, page: Any, width: str, who: str, name: str, path: str) -> None:
    """A page of a module that may not be installed: skipped (not a problem) when it answers 404."""
    if page.request.get(path).status == 404:
        return
    s.shot(page, width, who, name, path)


def _board(page: Any) -> str:
    board = "/opportunities/board/"
    if page.request.get(board).status >= 400:  # the sales module may not be installed
        board = "/customers/board/"
    return board


def _anon(s: Shooter, width: str) -> None:
    ctx, page = s.session("anon", width, None)
    s.shot(page, width, "anon", "login", "/login/")
    ctx.close()


def _admin(s: Shooter, width: str) -> None:
    ctx, page = s.session("admin", width, "admin")
    s.shot(page, width, "admin", "home", "/")
    s.shot(page, width, "admin", "customers", "/customers/")
    detail = first_detail_path(page, "/customers/")
    if detail:
        s.shot(page, width, "admin", "customer-detail", detail)
        for tab in ("timeline", "addresses", "files"):
            _shot_if_there(s, page, width, "admin", f"customer-detail-{tab}", f"{detail}?tab={tab}")
    try:
        page.goto("/customers/new/")
        page.locator("#hb-record-form button[type=submit].btn-primary").last.click(force=True)
        page.wait_for_load_state()
        s.shot(page, width, "admin", "customer-form-error")
    except Exception as exc:  # keep going: one broken page must not stop the others
        s.problems.append(f"admin/{width} customer form: {exc}")
    s.shot(page, width, "admin", "board", _board(page))
    for name, path in LIST_PAGES:
        _shot_if_there(s, page, width, "admin", name, path)
    opportunity = first_detail_path(page, "/opportunities/")
    if opportunity:
        s.shot(page, width, "admin", "opportunity-detail", opportunity)
    s.shot(page, width, "admin", "import-new", "/imports/new/?object_type=customer")
    for name, path in ADMIN_PAGES:
        s.shot(page, width, "admin", name, path)
    ctx.close()


def _switch_language(page: Any, code: str) -> None:
    """Through the language menu: stored on the user, so switch back to "en" when done (the
    next session of the same user, e.g. at the other width, must start in English again)."""
    page.goto("/")
    page.evaluate(
        "(code) => { const f = document.querySelector(`form[action='/language/'] input[value='${code}']`);"
        " if (f) f.form.submit(); }",
        code,
    )
    page.wait_for_load_state("networkidle")


def _switch_to_chinese(page: Any) -> None:
    _switch_language(page, "zh-hans")


def _admin_zh(s: Shooter, width: str) -> None:
    ctx, page = s.session("admin-zh", width, "admin")
    _switch_to_chinese(page)
    s.shot(page, width, "admin-zh", "home", "/")
    s.shot(page, width, "admin-zh", "customers", "/customers/")
    s.shot(page, width, "admin-zh", "board", _board(page))
    _shot_if_there(s, page, width, "admin-zh", "leads", "/leads/")
    s.shot(page, width, "admin-zh", "import-new", "/imports/new/?object_type=lead")
    s.shot(page, width, "admin-zh", "settings", "/settings/")
    s.shot(page, width, "admin-zh", "settings-audit", "/settings/audit/")
    _switch_language(page, "en")
    ctx.close()


def _rep(s: Shooter, width: str) -> None:
    ctx, page = s.session("rep", width, "sales_rep1")
    s.shot(page, width, "rep", "home", "/")
    s.shot(page, width, "rep", "customers", "/customers/")
    s.shot(page, width, "rep", "board", _board(page))
    for name, path in LIST_PAGES:
        _shot_if_there(s, page, width, "rep", name, path)
    s.shot(page, width, "rep", "search", "/search/?q=华为")
    ctx.close()


def _rep_zh(s: Shooter, width: str) -> None:
    ctx, page = s.session("rep-zh", width, "sales_rep1")
    _switch_to_chinese(page)
    s.shot(page, width, "rep-zh", "home", "/")
    s.shot(page, width, "rep-zh", "customers", "/customers/")
    s.shot(page, width, "rep-zh", "board", _board(page))
    _shot_if_there(s, page, width, "rep-zh", "opportunities", "/opportunities/")
    _shot_if_there(s, page, width, "rep-zh", "leads", "/leads/")
    s.shot(page, width, "rep-zh", "search", "/search/?q=张")
    _switch_language(page, "en")
    ctx.close()


def run(base: str, out: Path, password: str) -> Shooter:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("HUOBAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        s = Shooter(browser, base, out, password)
        for width in WIDTHS:
            for part in (_anon, _admin, _admin_zh, _rep, _rep_zh):
                try:
                    part(s, width)
                except Exception as exc:  # report and go on with the next set
                    s.problems.append(f"{part.__name__.strip('_')}/{width}: {exc}")
        browser.close()
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huoban.platform.ui.screenshots", description=__doc__)
    parser.add_argument("--url", help="use a running install instead of starting one")
    parser.add_argument("--out", default=None, help="output folder (default var/screenshots)")
    parser.add_argument("--password", default=os.environ.get("HUOBAN_DEMO_PASSWORD", "huoban-demo-2026"))
    args = parser.parse_args(argv)
    root = _root()
    out = Path(args.out) if args.out else root / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("HUOBAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print(
            f"Chromium not found at {chromium}: install it with `apt-get install -y chromium`",
            file=sys.stderr,
        )
        return 2
    proc = None
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            print("preparing a scratch database with demo data …", flush=True)
            env = prepare_database(out)
            proc, base = start_server(env, out / "server.log")
        print(f"taking screenshots of {base} …", flush=True)
        shooter = run(base, out, args.password)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    for path in shooter.saved:
        print(f"  {path.relative_to(out)}")
    print(f"{len(shooter.saved)} screenshots in {out}")
    if shooter.problems:
        print("problems seen while taking them:", file=sys.stderr)
        for p in dict.fromkeys(shooter.problems):
            print(f"  {p}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
