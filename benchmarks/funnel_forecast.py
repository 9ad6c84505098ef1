"""Funnel and forecast at scale: the report services (the same code as `GET /api/v1/reports/funnel/`
and `/forecast/`, through the caller's data scope) over N opportunities, with their stage history
and N/2 leads, next to a raw-SQL reference (one GROUP BY over the same table) in the same run.

    .venv/bin/python benchmarks/funnel_forecast.py --n 1000000          # SQLite
    .venv/bin/python benchmarks/funnel_forecast.py --n 1000000 --pg     # PostgreSQL

Target (issue #6): funnel and forecast each ≤ 2 s on SQLite and ≤ 1 s on PostgreSQL at 1,000,000
opportunities. Data are generated with plain multi-row INSERTs (COPY on PostgreSQL): ~2 minutes.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time

import _setup

args = _setup.parse_args("funnel_forecast", __doc__ or "", 1_000_000)

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from huoban.leads.models import Lead  # noqa: E402
from huoban.platform.identity.models import OrgUnit, User  # noqa: E402
from huoban.sales import reports  # noqa: E402
from huoban.sales.models import Opportunity, Pipeline, Stage, StageHistory, month_key  # noqa: E402

N = args.n
RUNS = max(3, min(args.runs, 7))
rng = random.Random(6)
NOW = timezone.now()


def bench_users() -> list[User]:
    """60 reps in 12 teams under the two demo regions, so scopes and GROUP BY owner have work."""
    users = list(User.objects.filter(username__startswith="bench_rep").order_by("pk"))
    if users:
        return users
    from huoban.platform.identity.services import _refresh_paths

    rep_role = __import__("huoban.platform.identity.models", fromlist=["Role"]).Role.objects.get(
        code="sales_rep"
    )
    for t in range(12):
        parent = OrgUnit.objects.get(code="east" if t < 6 else "north")
        team, _c = OrgUnit.objects.get_or_create(
            code=f"bench-team-{t}", defaults={"name": f"Team {t}", "parent": parent}
        )
        _refresh_paths(team)
        for k in range(5):
            u = User.objects.create(username=f"bench_rep{t:02d}{k}", primary_unit=team)
            u.roles.set([rep_role])
            users.append(u)
    return users


def columns(model: type, with_id: bool = False) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if with_id or not f.primary_key]


def _sqlite_value(v: object) -> object:
    if isinstance(v, dt.datetime):
        return connection.ops.adapt_datetimefield_value(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def insert(model: type, cols: list[str], rows: list[tuple]) -> None:
    table = model._meta.db_table
    if connection.vendor != "postgresql":
        rows = [tuple(_sqlite_value(v) for v in row) for row in rows]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            with cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
        else:
            marks = ", ".join(["%s"] * len(cols))
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)


def generate() -> None:
    have = Opportunity.objects.unrestricted().count()
    if have >= N:
        print(f"data: reusing {have:,} opportunities")
        return
    if have:
        raise SystemExit(
            f"{have:,} opportunities exist but --n {N:,} asked for: drop the bench database first"
        )
    customers = _setup.bulk_customers(max(1000, N // 100))
    customer_ids = list(
        __import__("huoban.customers.models", fromlist=["Customer"])
        .Customer.objects.unrestricted()
        .values_list("pk", flat=True)
    )
    users = bench_users()
    default = Pipeline.objects.get(code="default")
    stages = list(Stage.objects.filter(pipeline=default).order_by("position"))
    opens = [s for s in stages if s.type == "open"]
    won = next(s for s in stages if s.type == "won")
    lost = next(s for s in stages if s.type == "lost")
    top = max(s.position for s in stages)
    sources = ["website", "referral", "exhibition", "partner", "web_form", "cold_call", "import", "api"]
    cats = ["pipeline", "pipeline", "best_case", "commit", "omitted"]
    ocols = columns(Opportunity, with_id=True)
    hcols = columns(StageHistory)
    lcols = columns(Lead)
    print(
        f"data: generating {N:,} opportunities (+ history) and {N // 2:,} leads for {customers:,} customers …",
        flush=True,
    )
    t0 = time.perf_counter()
    batch = 20000
    first_id = 1_000_000_000  # explicit ids far above the demo rows, so history rows can point at them
    for start in range(0, N, batch):
        orows, hrows = [], []
        for i in range(start, min(N, start + batch)):
            owner = users[i % len(users)]
            created = NOW - dt.timedelta(seconds=rng.randint(0, 730 * 86400))
            reach = rng.choice([1, 1, 1, 2, 2, 3])
            roll = rng.random()
            status = "won" if roll < 0.25 else "lost" if roll < 0.55 else "open"
            stage = won if status == "won" else lost if status == "lost" else opens[reach - 1]
            t, prev = created, None
            path = opens[:reach] + ([stage] if status != "open" else [])
            for k, s in enumerate(path):
                last = k == len(path) - 1
                stay = rng.randint(86400, 30 * 86400)
                left = None if last else t + dt.timedelta(seconds=stay)
                vals = {
                    "opportunity_id": first_id + i,
                    "pipeline_id": default.pk,
                    "stage_id": s.pk,
                    "from_stage_id": prev.pk if prev else None,
                    "entered_at": t,
                    "left_at": left,
                    "duration_seconds": None if last else stay,
                    "backwards": False,
                    "actor_id": None,
                    "actor_name": "bench",
                    "opportunity_created_at": created,
                    "owner_id": owner.pk,
                    "owner_unit_id": owner.primary_unit_id,
                    "source": sources[i % len(sources)],
                    "live": True,
                }
                hrows.append(tuple(vals[c] for c in hcols))
                prev = s
                if left:
                    t = left
            amount = rng.randint(10, 2000) * 1000
            closed = t if status != "open" else None
            close_date = (closed or (NOW + dt.timedelta(days=rng.randint(-30, 365)))).date()
            vals = {
                "id": first_id + i,
                "owner_id": owner.pk,
                "owner_unit_id": owner.primary_unit_id,
                "created_at": created,
                "created_by_id": None,
                "updated_at": t,
                "updated_by_id": None,
                "version": 1,
                "custom_fields": "{}",
                "deleted_at": None,
                "deleted_by_id": None,
                "number": f"B{i:09d}",
                "name": f"Bench opportunity {i}",
                "customer_id": customer_ids[i % len(customer_ids)],
                "pipeline_id": default.pk,
                "stage_id": stage.pk,
                "status": status,
                "amount": amount,
                "currency": "CNY",
                "amount_base": amount,
                "close_date": close_date,
                "created_month": month_key(timezone.localtime(created)),
                "close_month": month_key(close_date),
                "probability": 100 if status == "won" else 0 if status == "lost" else stage.probability,
                "probability_manual": False,
                "forecast_category": "closed" if status != "open" else rng.choice(cats),
                "products": "[]",
                "competitors": "[]",
                "next_step": "",
                "source": sources[i % len(sources)],
                "source_lead_id": None,
                "campaign": None,
                "close_reason": "competitor" if status == "lost" else "",
                "close_note": "",
                "closed_at": closed,
                "stage_entered_at": t,
                "max_position": top if status == "won" else opens[reach - 1].position,
                "stuck_since": None,
                "stuck_escalated_at": None,
            }
            orows.append(tuple(vals[c] for c in ocols))
        with transaction.atomic():
            insert(Opportunity, ocols, orows)
            insert(StageHistory, hcols, hrows)
        done = min(N, start + batch)
        if done % 200000 == 0 or done == N:
            print(f"  … {done:,} opportunities ({time.perf_counter() - t0:.0f} s)", flush=True)
    for start in range(0, N // 2, batch):
        rows = []
        for i in range(start, min(N // 2, start + batch)):
            owner = users[i % len(users)]
            created = NOW - dt.timedelta(seconds=rng.randint(0, 730 * 86400))
            st = rng.choice(["new", "contacted", "qualified", "unqualified", "converted"])
            vals = {c: "" for c in lcols}
            vals.update(
                owner_id=owner.pk,
                owner_unit_id=owner.primary_unit_id,
                created_at=created,
                created_by_id=None,
                updated_at=created,
                updated_by_id=None,
                version=1,
                custom_fields="{}",
                deleted_at=None,
                deleted_by_id=None,
                number=f"BL{i:09d}",
                name=f"Bench lead {i}",
                source=sources[i % len(sources)],
                campaign=None,
                urgency="medium",
                budget=None,
                currency="CNY",
                status=st,
                score=0,
                score_breakdown="[]",
                web_form_id=None,
                matched_customer_id=None,
                duplicate_of_id=None,
                converted_customer_id=None,
                converted_contact_id=None,
                converted_opportunity_id=(first_id + i * 2) if st == "converted" and i % 2 == 0 else None,
                converted_at=created if st == "converted" else None,
                assigned_at=None,
                assignment_rule_id=None,
                first_contacted_at=None,
                sla_due_at=None,
                sla_overdue_at=None,
                last_activity_at=None,
            )
            rows.append(tuple(vals[c] for c in lcols))
        with transaction.atomic():
            insert(Lead, lcols, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{Opportunity._meta.db_table}', 'id'), %s)",
                [first_id + N],
            )
    print(f"data: ready in {time.perf_counter() - t0:.0f} s", flush=True)


generate()
_setup.analyze()
if connection.vendor == "postgresql":
    # what autovacuum does after a bulk load: statistics and the visibility map, so the report
    # queries can use index-only scans (right after COPY every page is "not all-visible")
    with connection.cursor() as cur:
        for model in (Opportunity, StageHistory, Lead):
            cur.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
n_opp = Opportunity.objects.unrestricted().count()
n_hist = StageHistory.objects.count()
n_lead = Lead.objects.unrestricted().count()
print(f"data: {n_opp:,} opportunities, {n_hist:,} stage stays, {n_lead:,} leads on {_setup.backend()}")

today = timezone.localdate()
year_ago = today - dt.timedelta(days=365)
admin = User.objects.get(username="admin")
manager = User.objects.get(username="sales_manager")


def case(label: str, fn) -> None:
    p50, p95, mx = _setup.timed(fn, RUNS, warmup=1)
    print(f"{label:<58} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   max {mx:8.1f} ms")


table = Opportunity._meta.db_table


def raw_reference() -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT status, COUNT(*), SUM(amount_base) FROM {table} WHERE created_at >= %s GROUP BY status",
            [NOW - dt.timedelta(days=365)],
        )
        cur.fetchall()


print(f"timings over {RUNS} runs each (the machine is shared; figures are wall-clock):")
case("reference: raw SQL GROUP BY status over the last year", raw_reference)
case(
    "funnel, admin (scope all), last 365 days",
    lambda: reports.funnel(admin, date_from=year_ago, date_to=today),
)
case(
    "funnel, East manager (unit tree), last 365 days",
    lambda: reports.funnel(manager, date_from=year_ago, date_to=today),
)
case(
    "funnel, admin, source=web_form, last 90 days",
    lambda: reports.funnel(admin, date_from=today - dt.timedelta(days=90), date_to=today, source="web_form"),
)
case(
    "forecast by month, admin, 12 months around today, per owner",
    lambda: reports.forecast(admin, period="month"),
)
case(
    "forecast by quarter, admin, 8 quarters, per unit",
    lambda: reports.forecast(admin, period="quarter", group="unit"),
)
case("forecast by month, East manager (unit tree)", lambda: reports.forecast(manager, period="month"))
