"""Shared set-up for benchmark scripts: a separate database, Django, demo org, bulk data.

Every benchmark runs against its own database so it never touches `var/huoban.sqlite3`:
SQLite `var/bench/<name>.sqlite3` by default, or PostgreSQL with `--pg` (database
`huoban_bench_<name>`, created if missing, on 127.0.0.1:5432 as user postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def parse_args(name: str, description: str, default_n: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=default_n, help="rows to generate")
    parser.add_argument("--pg", action="store_true", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--runs", type=int, default=200, help="timed repetitions per query")
    parser.add_argument("--keep", action="store_true", help="reuse existing data when the row count matches")
    args = parser.parse_args()
    setup_django(name, args.pg)
    return args


def setup_django(name: str, pg: bool) -> None:
    if pg:
        import psycopg

        dbname = f"huoban_bench_{name}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [dbname]).fetchone():
                conn.execute(f'CREATE DATABASE "{dbname}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{dbname}"
    else:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{bench_dir / name}.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")
    os.environ.setdefault("HUOBAN_JOBS_IMMEDIATE", "1")
    os.environ.setdefault("HUOBAN_AXES_DISABLED", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from huoban.platform.ops.platform_demo import demo_org

    demo_org()


def setup_scratch_django(postgres: bool) -> None:
    """Django on a throw-away database: a new SQLite file in a temporary var dir, or, with
    ``postgres``, the database named by the caller's DATABASE_URL."""
    import tempfile

    if not postgres:
        os.environ["HUOBAN_VAR_DIR"] = tempfile.mkdtemp(prefix="huoban-bench-")
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")
    os.environ["HUOBAN_JOBS_IMMEDIATE"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def backend() -> str:
    from django.db import connection

    return connection.vendor


def timed(fn: Callable[[], object], runs: int, warmup: int = 5) -> tuple[float, float, float]:
    """Run ``fn`` and return (p50, p95, max) in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    return statistics.median(samples), p95, samples[-1]


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


FIRST = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
CITY = ["北京", "上海", "杭州", "深圳", "广州", "南京", "苏州", "成都", "武汉", "西安", "宁波", "合肥"]
WORD = [
    "华信",
    "腾达",
    "恒远",
    "新科",
    "中盛",
    "宏图",
    "汇通",
    "博瑞",
    "瑞丰",
    "金石",
    "天成",
    "永泰",
    "鼎盛",
]
TRADE = ["科技", "贸易", "制造", "电子", "物流", "医药", "软件", "建材", "食品", "能源"]
EN = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Vandelay"]


def company_name(i: int) -> str:
    if i % 5 == 0:
        return f"{EN[i % len(EN)]} {EN[(i // 10) % len(EN)]} Trading {i} Co., Ltd."
    return f"{CITY[i % len(CITY)]}{WORD[(i // 7) % len(WORD)]}{TRADE[(i // 3) % len(TRADE)]}{i}有限公司"


def bulk_customers(n: int, batch: int = 5000) -> int:
    """Insert ``n`` customers spread over the demo sales users (ORM bulk_create, no audit)."""
    from django.db import transaction
    from django.utils import timezone

    from huoban.customers.models import Customer
    from huoban.platform.identity.models import User

    existing = Customer.objects.unrestricted().count()
    if existing >= n:
        return existing
    owners = list(
        User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3", "sales_manager"])
    )
    now = timezone.now()
    created = existing
    while created < n:
        size = min(batch, n - created)
        rows = []
        for i in range(created, created + size):
            owner = owners[i % len(owners)]
            rows.append(
                Customer(
                    number=f"BENCH{i:09d}",
                    name=company_name(i),
                    phone=f"+86138{i % 100000000:08d}",
                    owner=owner,
                    owner_unit_id=owner.primary_unit_id,
                    created_at=now,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            Customer.objects.bulk_create(rows, batch_size=batch)
        created += size
        if created % 100000 == 0:
            print(f"  … {created:,} customers", flush=True)
    return created
