"""Export benchmark: 100,000 customers to XLSX (and CSV for comparison), as a background export.

    .venv/bin/python benchmarks/export_xlsx.py                 # SQLite, 100,000 rows
    .venv/bin/python benchmarks/export_xlsx.py --rows 300000
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/export_xlsx.py --postgres

The customers are written straight into the table first (not timed). The timed part is the
export job end to end: the scoped list queryset, rendering every cell (labels of choices and
picklists, owner names, dates in the user's time zone, tags, masking, formula escaping) and
writing the file (openpyxl write-only mode; CSV with BOM), saved to the file storage.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import _setup  # noqa: E402


def seed(rows: int, owner) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from huoban.customers.models import Customer
    from huoban.platform.transfer import bulk

    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute(f"TRUNCATE {connection.ops.quote_name(Customer._meta.db_table)} CASCADE")
    rnd = random.Random(7)
    cols = bulk.insert_columns(Customer)
    now = timezone.now()
    industries = ["C", "F", "I", "E", "J", ""]
    for start in range(0, rows, 5000):
        batch = []
        for i in range(start, min(rows, start + 5000)):
            batch.append(
                {
                    "number": f"CUSTBENCH-{i:07d}",
                    "name": f"杭州示例{i}科技有限公司",
                    "phone": f"+86138{i:08d}",
                    "email": f"c{i}@example.com" if i % 3 else "",
                    "industry": industries[i % len(industries)],
                    "kind": "company",
                    "lifecycle_stage": rnd.choice(["prospect", "customer", "loyal"]),
                    "address": f"浙江省杭州市某某路{i % 999}号",
                    "owner_id": owner.pk,
                    "owner_unit_id": owner.primary_unit_id,
                    "created_at": now,
                    "updated_at": now,
                    "custom_fields": {},
                    "name_key": f"示例{i}",
                }
            )
        with transaction.atomic():
            bulk.insert_rows(Customer, cols, batch, returning=False)


def timed_export(user, fmt: str) -> tuple[object, float, float]:
    from huoban.platform.transfer.exporting import export_create

    start, cpu = time.perf_counter(), time.process_time()
    run = export_create(actor=user, object_type="customer", format=fmt)
    run.refresh_from_db()
    return run, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if args.postgres and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("--postgres needs DATABASE_URL=postgres://…")
    _setup.setup_scratch_django(args.postgres)
    from django.db import connection

    from huoban.platform.identity.models import User
    from huoban.platform.ops.platform_demo import demo_org

    demo_org()
    admin = User.objects.get(username="admin")
    t0 = time.perf_counter()
    seed(args.rows, admin)
    seeded = time.perf_counter() - t0
    print(f"database            {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"seeded              {args.rows:,} customers in {seeded:.1f} s (not timed)")
    for fmt in ("xlsx", "csv"):
        run, wall, cpu = timed_export(admin, fmt)
        assert run.status == "done", run.error
        size = run.file_size / 2**20
        print(
            f"export {fmt:<4}         {run.row_count:,} rows × {len(run.columns)} columns in {wall:.2f} s wall "
            f"({cpu:.2f} s CPU) → {run.row_count / wall:,.0f} rows/s, {size:.1f} MiB"
            + ("   (goal: 100,000 rows ≤ 30 s)" if fmt == "xlsx" else "")
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory         {peak:.0f} MiB max RSS")


if __name__ == "__main__":
    main()
