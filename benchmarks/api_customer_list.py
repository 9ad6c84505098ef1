"""Customer list API at scale: p50/p95 of `GET /api/v1/customers/` (50 rows, data scope applied,
default ordering) next to the same query in raw SQL, measured in the same run.

    .venv/bin/python benchmarks/api_customer_list.py --n 1000000          # SQLite
    .venv/bin/python benchmarks/api_customer_list.py --n 1000000 --pg     # PostgreSQL

Target (issue #2): p95 ≤ 50 ms at 1,000,000 customers on both databases.
"""

from __future__ import annotations

import time

import _setup

args = _setup.parse_args("api_list", __doc__ or "", 1_000_000)

from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from huoban.customers.models import Customer  # noqa: E402
from huoban.platform.access.scoping import grants_for  # noqa: E402
from huoban.platform.identity.models import User  # noqa: E402

t0 = time.perf_counter()
total = _setup.bulk_customers(args.n)
print(f"data: {total:,} customers on {_setup.backend()} (prepared in {time.perf_counter() - t0:.1f} s)")
_setup.analyze()

# As a started server does (wsgi.py): URLs loaded, start-up heap frozen out of the cyclic GC.
from huoban.startup import freeze_startup_heap  # noqa: E402

freeze_startup_heap()


def api_case(username: str) -> None:
    user = User.objects.get(username=username)
    client = APIClient()
    client.force_authenticate(user=user)

    def call() -> None:
        r = client.get("/api/v1/customers/?page_size=50")
        assert r.status_code == 200, r.content
        assert len(r.json()["results"]) == 50

    data = client.get("/api/v1/customers/?page_size=50").json()
    p50, p95, mx = _setup.timed(call, args.runs)

    grants = grants_for(user)
    scope = grants.scope("customer")
    table = Customer._meta.db_table
    if scope == "own":
        where, params = "owner_id = %s", [user.pk]
    else:
        units = grants.tree_unit_ids
        where = f"(owner_unit_id IN ({','.join(['%s'] * len(units))}) OR owner_id = %s)"
        params = [*units, user.pk]
    page_sql = f"SELECT * FROM {table} WHERE {where} AND deleted_at IS NULL ORDER BY id DESC LIMIT 51"
    count_sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} AND deleted_at IS NULL LIMIT 10001) t"
    )

    def raw() -> None:
        with connection.cursor() as cur:
            cur.execute(page_sql, params)
            cur.fetchall()
            cur.execute(count_sql, params)
            cur.fetchone()

    r50, r95, _rmx = _setup.timed(raw, args.runs)
    print(
        f"{username:<14} scope={scope:<9} count={data['count']}{'+' if data['count_capped'] else ''}  "
        f"API p50={p50:6.1f} ms p95={p95:6.1f} ms max={mx:6.1f} ms | raw SQL p50={r50:5.1f} ms p95={r95:5.1f} ms"
    )


print(f"GET /api/v1/customers/?page_size=50, {args.runs} runs each")
for name in ("sales_rep1", "sales_manager", "admin"):
    api_case(name)
