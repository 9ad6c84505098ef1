"""Import benchmark: customers from CSV, dedup by name + phone, end to end, with a raw reference.

    .venv/bin/python benchmarks/import_customers.py                  # 100,000 rows on SQLite
    .venv/bin/python benchmarks/import_customers.py --rows 1000000   # the million-row run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huoban_bench \\
        .venv/bin/python benchmarks/import_customers.py --postgres   # same on PostgreSQL

The file has 5 % duplicates (half of them repeat an earlier row of the file with other spacing
and full-width digits, half match customers already in the database) and 1 % invalid rows (bad
phone, bad e-mail, unknown industry). The run is timed from the file on disk to the finished
report: detection, parsing, conversion, the customers app's validation, dedup against the file
and the database, numbering, identifiers, audit and the batch journal.

On two or more cores the run forks its reader process (decision 0006): the "CPU" line is the
run's own process, the stages named ``reader_…`` are the reader's CPU, spent in parallel.
``HUOBAN_IMPORT_READER_PROCESS=0`` measures the serial engine.

The reference is a raw ``executemany`` of the same rows (the values the import wrote) into the
same table with the same indexes, in the same process, rolled back afterwards; the ratio of the
two rates is the figure that survives a noisy machine. Peak memory is the process's max RSS.

SQLite runs in a fresh database under a temporary HUOBAN_VAR_DIR; PostgreSQL needs a database
URL (the schema is migrated and the customer tables are emptied first — use a scratch database).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import _setup  # noqa: E402

INDUSTRIES = [
    "制造业",
    "批发和零售业",
    "信息传输、软件和信息技术服务业",
    "建筑业",
    "金融业",
    "制造",
    "C",
    "I",
]
CITIES = ["杭州", "上海", "北京", "深圳", "苏州", "成都", "武汉", "南京", "宁波", "广州"]
WORDS = ["华", "信", "达", "通", "科", "创", "远", "盛", "源", "泰", "恒", "丰", "鑫", "博", "智", "联"]
SUFFIX = [
    "科技有限公司",
    "贸易有限公司",
    "制造有限公司",
    "信息技术有限公司",
    "实业有限公司",
    "网络科技有限公司",
]
HEADER = ["客户名称", "手机", "所属行业", "邮箱", "地址", "客户类型", "备注"]


def company(i: int) -> str:
    rnd = random.Random(i)
    brand = "".join(rnd.choice(WORDS) for _ in range(3)) + str(i)
    return f"{rnd.choice(CITIES)}{brand}{rnd.choice(SUFFIX)}"


PREFIXES = ["138", "139", "135", "136", "150", "151", "158", "186", "187", "189", "177", "199"]


def mobile(i: int) -> str:
    return f"{PREFIXES[i % len(PREFIXES)]}{(i * 7919) % 10**8:08d}"


def row(i: int) -> list[str]:
    return [
        company(i),
        mobile(i),
        INDUSTRIES[i % len(INDUSTRIES)],
        f"contact{i}@example{i % 97}.com" if i % 3 else "",
        f"{CITIES[i % len(CITIES)]}市某某路{i % 999}号",
        "公司" if i % 10 else "个人",
        "导入测试",
    ]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)


def write_file(path: Path, rows: int, seeded: int, dup_rate: float, bad_rate: float) -> dict[str, int]:
    """Stream the benchmark CSV to disk (never in memory). Returns the planned composition."""
    from array import array

    rnd = random.Random(42)
    plan = {"rows": rows, "dup_file": 0, "dup_db": 0, "invalid": 0}
    base = 10_000_000  # ids of new companies (the seeded ones are 0..seeded-1)
    clean = array("q")  # new companies written so far (candidates for in-file duplicates)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for n in range(rows):
            r = rnd.random()
            if r < dup_rate / 2 and clean:
                i = clean[rnd.randrange(0, len(clean))]  # an earlier row of this file, respelled
                cells = row(i)
                cells[0] = " " + cells[0].replace("有限公司", "有限公司 ")
                cells[1] = fullwidth(cells[1][:3]) + "-" + cells[1][3:7] + " " + cells[1][7:]
                plan["dup_file"] += 1
            elif r < dup_rate and seeded:
                cells = row(rnd.randrange(0, seeded))  # a customer already in the database
                plan["dup_db"] += 1
            elif r < dup_rate + bad_rate:
                cells = row(base + n)
                kind = n % 3
                if kind == 0:
                    cells[1] = "12345"
                elif kind == 1:
                    cells[3] = "not-an-email"
                else:
                    cells[2] = "不存在的行业"
                plan["invalid"] += 1
            else:
                cells = row(base + n)
                clean.append(base + n)
            w.writerow(cells)
    return plan


def reset_tables() -> None:
    """PostgreSQL scratch database: empty the customer and import tables (TRUNCATE … CASCADE)."""
    from django.db import connection

    from huoban.customers.models import Customer, CustomerIdentifier
    from huoban.platform.transfer.models import ImportRun

    # the identifier table has no foreign key (decision 0008): CASCADE does not reach it
    tables = [m._meta.db_table for m in (Customer, CustomerIdentifier, ImportRun)]
    try:
        from huoban.platform.ui.models_search import SearchEntry

        tables.append(SearchEntry._meta.db_table)
    except ImportError:
        pass
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} CASCADE")


class DeferredEvents:
    """Collect the domain events an import emits, to time their handlers separately afterwards
    (the ui app indexes every new record for global search on ``customer.bulk_created``)."""

    def __init__(self) -> None:
        from huoban.platform.events import bus

        self.bus = bus
        self.events: list = []
        self.original = bus._dispatch

    def __enter__(self) -> DeferredEvents:
        self.bus._dispatch = self.events.append
        return self

    def __exit__(self, *exc: object) -> None:
        self.bus._dispatch = self.original

    def dispatch(self) -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for event in self.events:
            self.original(event)
        return time.perf_counter() - start, time.process_time() - cpu


def run_import(user, path: Path, name: str, options: dict | None = None) -> tuple[object, float]:
    from django.core.files import File

    from huoban.platform.transfer.services import import_execute, import_upload

    start = time.perf_counter()
    cpu = time.process_time()
    with path.open("rb") as fh:
        run = import_upload(
            actor=user,
            object_type="customer",
            file=File(fh, name=name),
            match_keys=["name_phone"],
            options=options,
        )
    run.status = "queued"
    run.save(update_fields=["status"])
    run = import_execute(run)
    run.cpu_seconds = time.process_time() - cpu
    return run, time.perf_counter() - start


def raw_reference(ids_from: int, limit: int) -> tuple[int, float]:
    """executemany of the rows the import wrote, into the same table, then rolled back.

    Rows are read back in chunks of 50,000 (only the executemany calls are timed)."""
    from django.db import connection, transaction

    from huoban.customers.models import Customer

    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Customer._meta.db_table)
    number_at = [f.name for f in fields].index("number")
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(fields))})"
    elapsed = 0.0
    done = 0
    last_id = ids_from - 1
    try:
        with transaction.atomic():
            while done < limit:
                with connection.cursor() as c:
                    c.execute(
                        f"SELECT id, {cols} FROM {table} WHERE id > %s AND number NOT LIKE 'REF-%%' "
                        f"ORDER BY id LIMIT %s",
                        [last_id, min(50_000, limit - done)],
                    )
                    chunk = c.fetchall()
                if not chunk:
                    break
                last_id = chunk[-1][0]
                rows = [list(r[1:]) for r in chunk]
                for i, r in enumerate(rows):
                    r[number_at] = f"REF-{done + i}"
                start = time.perf_counter()
                with connection.cursor() as c:
                    c.executemany(sql, rows)
                elapsed += time.perf_counter() - start
                done += len(rows)
            raise _Rollback
    except _Rollback:
        pass
    return done, elapsed


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--seed", type=int, default=0, help="customers in the database first (default 5 %% of rows)"
    )
    parser.add_argument("--dup", type=float, default=0.05)
    parser.add_argument("--invalid", type=float, default=0.01)
    parser.add_argument(
        "--postgres", action="store_true", help="use DATABASE_URL (a scratch PostgreSQL database)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    parser.add_argument("--batch", type=int, default=0, help="rows per batch (default: the engine's choice)")
    parser.add_argument(
        "--profile",
        metavar="N",
        type=int,
        default=0,
        help="profile the import and print the N costliest functions",
    )
    parser.add_argument(
        "--no-reactions", action="store_true", help="do not run the after-commit event handlers afterwards"
    )
    args = parser.parse_args()
    if args.postgres and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("--postgres needs DATABASE_URL=postgres://…")
    _setup.setup_scratch_django(args.postgres)

    from django.db import connection

    from huoban.customers.models import Customer
    from huoban.platform.identity.models import User
    from huoban.platform.ops.platform_demo import demo_org

    if args.postgres:
        reset_tables()
    demo_org()
    admin = User.objects.get(username="admin")
    seeded = args.seed or max(1000, int(args.rows * args.dup))
    work = Path(tempfile.mkdtemp(prefix="huoban-bench-files-"))
    seed_file = work / "seed.csv"
    with seed_file.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(seeded):
            w.writerow(row(i))
    seed_run, _t = run_import(admin, seed_file, "seed.csv")
    assert seed_run.created == seeded, seed_run.counts

    data_file = work / "customers.csv"
    t0 = time.perf_counter()
    plan = write_file(data_file, args.rows, seeded, args.dup, args.invalid)
    gen = time.perf_counter() - t0
    size_mb = data_file.stat().st_size / 2**20
    first_new_id = (
        Customer.objects.unrestricted().order_by("-id").values_list("id", flat=True).first() or 0
    ) + 1
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with DeferredEvents() as deferred:
        run, elapsed = run_import(
            admin, data_file, "customers.csv", {"batch_size": args.batch} if args.batch else None
        )
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reactions, reactions_cpu = (0.0, 0.0) if args.no_reactions else deferred.dispatch()
    c = run.counts
    rate = c["read"] / elapsed
    n_ref, ref_elapsed = raw_reference(first_new_id, c["created"])
    ref_rate = n_ref / ref_elapsed if ref_elapsed else float("inf")
    conserved = c["created"] + c["updated"] + c["skipped"] + c["rejected"] == c["read"]
    stages = ", ".join(f"{k} {v:.2f}" for k, v in (run.summary.get("cpu_seconds") or {}).items())

    print(f"database            {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"file                {args.rows:,} rows, {size_mb:.1f} MiB CSV (generated in {gen:.1f} s)")
    print(
        f"planned             {plan['dup_file']:,} duplicates in the file, {plan['dup_db']:,} of existing "
        f"customers ({seeded:,} seeded), {plan['invalid']:,} invalid"
    )
    print(
        f"counts              read {c['read']:,} · created {c['created']:,} · updated {c['updated']:,} · "
        f"skipped {c['skipped']:,} · rejected {c['rejected']:,} · conserved: {conserved}"
    )
    print(f"import              {elapsed:.2f} s wall  →  {rate:,.0f} rows/s end to end")
    print(
        f"                    {run.cpu_seconds:.2f} s CPU  →  {c['read'] / run.cpu_seconds:,.0f} rows/s per CPU "
        f"second (CPU by stage: {stages})"
    )
    print(
        f"raw executemany     {n_ref:,} rows in {ref_elapsed:.2f} s  →  {ref_rate:,.0f} rows/s (same table, rolled back)"
    )
    print(f"ratio               raw is {ref_rate / rate:.1f}× faster than the import (goal ≤ 8×)")
    if args.no_reactions:
        print(f"after-commit events {len(deferred.events)} events; handlers not run (--no-reactions)")
    else:
        print(
            f"after-commit events {len(deferred.events)} events; their handlers (the ui app's global search index) "
            f"took {reactions:.2f} s ({reactions_cpu:.2f} s CPU) → {c['read'] / (elapsed + reactions):,.0f} rows/s and "
            f"{ref_rate / (c['read'] / (elapsed + reactions)):.1f}× if they run inline in the import job"
        )
    reader_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak memory         {peak:.0f} MiB max RSS (before the run: {rss_before:.0f} MiB); "
        f"reader process {reader_peak:.0f} MiB (forked: shares the unchanged pages)"
    )
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
