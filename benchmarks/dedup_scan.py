"""Duplicate-scan benchmark: a labelled set of customers, the full scan, and its figures.

    .venv/bin/python benchmarks/dedup_scan.py --rows 1000000           # generate + scan
    .venv/bin/python benchmarks/dedup_scan.py --rows 20000 --keep      # reuse generated data
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huoban_bench .venv/bin/python benchmarks/dedup_scan.py

Generation (``dedup_data.py``): distinct companies with realistic Chinese and English names
(region prefixes, brands, industry words, legal forms), valid USCCs and mainland phone numbers;
about one company in nine gets one to three duplicate rows with realistic variants (legal form,
region added/removed/bracketed, traditional characters, full-width forms, spacing and
punctuation, typos, a dropped industry word, shared or missing identifiers). Hard negatives:
unrelated companies sharing a switchboard number, same brand in another industry. Rows go in
with raw ``executemany`` (a fresh SQLite file under ``var/bench/`` unless ``DATABASE_URL``
names a database).

The scan runs in a fresh process (``--phase scan``) so its peak memory (``ru_maxrss``) is its
own; it is ``duplicate_scan_customers()`` exactly as the nightly job runs it, groups stored.
Printed: rows, seconds, rows/s, peak memory, pairs and groups, precision and recall over record
pairs (same group vs same labelled company), and a reference: the time to only stream the same
rows from the database in the same process, so the ratio means something on a noisy machine.
Targets (issue 4): 1,000,000 rows in ≤ 120 s and ≤ 2 GiB, precision ≥ 0.95, recall ≥ 0.90.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"


def _setup(db_url: str | None) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = db_url or f"sqlite:///{BENCH_DIR / 'dedup.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")
    os.environ.setdefault("HUOBAN_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _truth_path() -> Path:
    return BENCH_DIR / "dedup_truth.json"


def generate(rows: int, seed: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.dedup_data import generate_rows
    from huoban.customers.models import Customer, DuplicateGroup, DuplicateMember

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {DuplicateMember._meta.db_table}")
        cur.execute(f"DELETE FROM {DuplicateGroup._meta.db_table}")
        cur.execute(f"DELETE FROM {Customer._meta.db_table}")
    t0 = time.perf_counter()
    template, positions, columns = _row_template(connection)
    table = Customer._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    labels = array("q")
    batch: list[tuple] = []
    n = 0
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cur:
            for entity, name, uscc, phone, email in generate_rows(rows, seed):
                row = list(template)
                row[positions["number"]] = f"B{n:09d}"
                row[positions["name"]] = name
                row[positions["uscc"]] = uscc
                row[positions["phone"]] = phone
                row[positions["email"]] = email
                batch.append(tuple(row))
                labels.append(entity)
                n += 1
                if len(batch) >= 20000:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
    seconds = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM {table} ORDER BY number")
        ids = [r[0] for r in cur.fetchall()]
    truth = dict(zip(ids, labels.tolist(), strict=True))
    _truth_path().write_text(json.dumps(truth))
    return {"rows": n, "seconds": round(seconds, 1), "rows_per_s": int(n / seconds) if seconds else 0}


def _row_template(connection) -> tuple[list, dict[str, int], list[str]]:
    """Prepared values for every NOT NULL column (defaults), so only a few change per row."""
    from django.utils import timezone

    from huoban.customers.models import Customer

    now = timezone.now()
    values: list = []
    columns: list[str] = []
    positions: dict[str, int] = {}
    for f in Customer._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.null and f.name not in ("created_at", "updated_at"):
            continue
        if f.name in ("created_at", "updated_at"):
            value = now
        elif f.has_default():
            value = f.get_default()
        else:
            value = ""
        positions[f.name] = len(columns)
        columns.append(connection.ops.quote_name(f.column))
        values.append(f.get_db_prep_save(value, connection))
    return values, positions, columns


def reference_stream() -> float:
    """Seconds to only read the rows the scan reads (same query, same process)."""
    from huoban.customers.models import Customer

    t0 = time.perf_counter()
    qs = (
        Customer.objects.unrestricted()
        .filter(deleted_at__isnull=True)
        .order_by()
        .values_list("id", "name", "uscc", "phone", "email", "phones", "emails")
    )
    for _row in qs.iterator(chunk_size=20000):
        pass
    return time.perf_counter() - t0


def scan() -> dict:
    from huoban.customers.duplicates import duplicate_scan_customers
    from huoban.customers.models import DuplicateGroup

    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    result = duplicate_scan_customers()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kib = after.ru_maxrss
    ref = reference_stream()
    truth = {int(k): v for k, v in json.loads(_truth_path().read_text()).items()}
    groups = list(
        DuplicateGroup.objects.filter(object_type="customer", status="open").values_list(
            "member_ids", flat=True
        )
    )
    return {
        **result,
        "seconds": round(seconds, 1),
        "rows_per_s": int(result["rows"] / seconds) if seconds else 0,
        "cpu_seconds": round(cpu, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(peak_kib / 1024),
        "reference_stream_seconds": round(ref, 1),
        **evaluate(groups, truth),
    }


def evaluate(groups: list[list[int]], truth: dict[int, int]) -> dict:
    """Pairwise precision and recall: a predicted pair is two records in one group; a true pair
    is two records of one labelled company."""
    from collections import Counter

    predicted = 0
    correct = 0
    for members in groups:
        k = len(members)
        predicted += k * (k - 1) // 2
        by_entity = Counter(truth.get(m, -m) for m in members)
        correct += sum(c * (c - 1) // 2 for c in by_entity.values())
    sizes = Counter(truth.values())
    actual = sum(c * (c - 1) // 2 for c in sizes.values())
    return {
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "precision": round(correct / predicted, 4) if predicted else 1.0,
        "recall": round(correct / actual, 4) if actual else 1.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--keep", action="store_true", help="reuse the rows generated by an earlier run")
    p.add_argument("--phase", choices=["all", "generate", "scan"], default="all")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = p.parse_args()
    if args.phase == "scan":
        _setup(args.database_url)
        print("RESULT " + json.dumps(scan()))
        return
    if args.phase in ("all", "generate") and not args.keep:
        _setup(args.database_url)
        g = generate(args.rows, args.seed)
        print(
            f"generated {g['rows']:,} customers in {g['seconds']} s ({g['rows_per_s']:,} rows/s, raw executemany)"
        )
        if args.phase == "generate":
            return
    cmd = [sys.executable, __file__, "--phase", "scan"]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit("scan failed")
    r = json.loads(line[len("RESULT ") :])
    ok = lambda cond: "ok" if cond else "MISSED"  # noqa: E731
    print(f"duplicate scan of {r['rows']:,} customers")
    print(
        f"  time            {r['seconds']} s  ({r['rows_per_s']:,} rows/s)   target ≤ 120 s: {ok(r['seconds'] <= 120)}"
    )
    print(
        f"  cpu time        {r['cpu_seconds']} s (user + system; load average {r['load_average']} on {os.cpu_count()} cores)"
    )
    print(
        f"  peak memory     {r['peak_rss_mib']} MiB (ru_maxrss of the scan process)   target ≤ 2048 MiB: {ok(r['peak_rss_mib'] <= 2048)}"
    )
    print(f"  comparisons     {r['comparisons']:,}   accepted pairs {r['pairs']:,}   groups {r['groups']:,}")
    print(f"  precision       {r['precision']}   target ≥ 0.95: {ok(r['precision'] >= 0.95)}")
    print(f"  recall          {r['recall']}   target ≥ 0.90: {ok(r['recall'] >= 0.90)}")
    print(
        f"  pairs           true {r['true_pairs']:,}  predicted {r['predicted_pairs']:,}  correct {r['correct_pairs']:,}"
    )
    print(
        f"  reference       streaming the same rows alone: {r['reference_stream_seconds']} s "
        f"(scan = {r['seconds'] / max(r['reference_stream_seconds'], 0.001):.1f}× the read)"
    )


if __name__ == "__main__":
    main()
