"""Customer list page render time: ``GET /customers/?per_page=50`` through the whole Django stack
(middleware, data scope, 50 rows, total count, filters, saved views, the shell) with the test
client in-process, as three roles, next to the bare page query in raw SQL.

    .venv/bin/python benchmarks/ui_list_render.py                 # SQLite, 100,000 customers
    .venv/bin/python benchmarks/ui_list_render.py --n 1000000 --pg

Target (issue #3): p95 ≤ 150 ms server time for 50 rows out of 100,000 on SQLite; no N+1
(the query count is printed and must not grow with the number of rows).
"""

from __future__ import annotations

import time

import _setup

args = _setup.parse_args("ui_list", __doc__ or "", 100_000)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huoban.customers.models import Customer  # noqa: E402
from huoban.platform.identity.models import User  # noqa: E402

t0 = time.perf_counter()
total = _setup.bulk_customers(args.n)
print(f"data: {total:,} customers on {_setup.backend()} (prepared in {time.perf_counter() - t0:.1f} s)")
_setup.analyze()

table = Customer._meta.db_table
print(
    f"\n{'user':<16}{'rows':>5}{'queries':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   raw page SQL p50/p95"
)
worst = 0.0
for username in ("admin", "sales_manager", "sales_rep1"):
    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    url = "/customers/?per_page=50"
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    rows = r.content.decode().count('name="ids"')
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = len(ctx.captured_queries)

    def render(client: Client = client, url: str = url) -> None:
        resp = client.get(url)
        assert resp.status_code == 200

    p50, p95, mx = _setup.timed(render, args.runs)
    worst = max(worst, p95)
    where, params = "deleted_at IS NULL", []
    if username == "sales_rep1":
        where, params = "owner_id = %s AND deleted_at IS NULL", [user.pk]

    def raw(where: str = where, params: list = params) -> None:
        with connection.cursor() as cur:
            cur.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id DESC LIMIT 50", params)
            cur.fetchall()

    r50, r95, _mx = _setup.timed(raw, args.runs)
    print(
        f"{username:<16}{rows:>5}{queries:>9}{p50:>9.1f}{p95:>9.1f}{mx:>9.1f}   {r50:.2f} / {r95:.2f}",
        flush=True,
    )

print(f"\nworst p95: {worst:.1f} ms (target ≤ 150 ms) — {'OK' if worst <= 150 else 'ABOVE TARGET'}")
