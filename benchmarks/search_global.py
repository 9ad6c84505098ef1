"""Global search at scale: p50/p95 of ``search(user, q)`` (top 20, grouped, data scope applied,
records loaded through ``scoped()``) over customers + contacts, for one- and two-character
Chinese queries, Latin prefixes, phone digits and two-term queries, next to the bare index
range scan in raw SQL measured in the same run.

    .venv/bin/python benchmarks/search_global.py                  # SQLite, 1,000,000 records
    .venv/bin/python benchmarks/search_global.py --pg             # PostgreSQL
    .venv/bin/python benchmarks/search_global.py --n 100000 --runs 50

``--n`` is the number of records: half customers, half contacts. Target (issue #3): p95 ≤ 100 ms
at 1,000,000 customers + contacts, including 华为 and 张.
"""

from __future__ import annotations

import random
import time

import _setup

args = _setup.parse_args("search", __doc__ or "", 1_000_000)

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from huoban.customers.models import Contact, Customer  # noqa: E402
from huoban.platform.identity.models import User  # noqa: E402
from huoban.platform.ui import search  # noqa: E402
from huoban.platform.ui.models_search import SearchEntry  # noqa: E402

rng = random.Random(7)
# surnames roughly by frequency: 王 李 张 刘 陈 are ~30 % of people together
SURNAMES = (
    "王" * 7
    + "李" * 7
    + "张" * 7
    + "刘" * 5
    + "陈" * 5
    + "杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红文斌宇浩凯鹏辉俊峰琳晶欣怡婷雪梅"
CITIES = [*_setup.CITY, "青岛"]
WORDS = [*_setup.WORD, "华为", "星辰", "远航"]
TRADES = [*_setup.TRADE, "咨询", "传媒"]
EN = _setup.EN
PINYIN = ["zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou"]


def company(i: int) -> str:
    if i % 10 == 0:
        return f"{EN[i % len(EN)]} {EN[(i // 10) % len(EN)]} Trading Co., Ltd."
    word = WORDS[rng.randrange(len(WORDS))] if i % 50 else "华为"  # ≈ 8 % contain 华为 somewhere
    return f"{CITIES[rng.randrange(len(CITIES))]}{word}{TRADES[rng.randrange(len(TRADES))]}有限公司"


def person() -> str:
    return SURNAMES[rng.randrange(len(SURNAMES))] + "".join(
        GIVEN[rng.randrange(len(GIVEN))] for _ in range(rng.choice((1, 2, 2)))
    )


def generate(n_customers: int, n_contacts: int, batch: int = 10000) -> None:
    owners = list(
        User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3", "sales_manager", "admin"])
    )
    now = timezone.now()
    have = Customer.objects.unrestricted().count()
    while have < n_customers:
        size = min(batch, n_customers - have)
        rows = []
        for i in range(have, have + size):
            o = owners[i % len(owners)]
            rows.append(
                Customer(
                    number=f"SRCH{i:09d}",
                    name=company(i),
                    phone=f"+86 139{i % 100000000:08d}",
                    email=f"info{i}@{EN[i % len(EN)].lower()}.example" if i % 3 == 0 else "",
                    owner=o,
                    owner_unit_id=o.primary_unit_id,
                    created_at=now,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            Customer.objects.bulk_create(rows, batch_size=batch)
        have += size
        if have % 100000 == 0:
            print(f"  … {have:,} customers", flush=True)
    first = Customer.objects.unrestricted().order_by("pk").values_list("pk", flat=True).first() or 0
    have = Contact.objects.unrestricted().count()
    while have < n_contacts:
        size = min(batch, n_contacts - have)
        rows = []
        for i in range(have, have + size):
            o = owners[i % len(owners)]
            rows.append(
                Contact(
                    name=person(),
                    customer_id=first + (i % n_customers),
                    mobile=f"138{i % 100000000:08d}",
                    email=f"{PINYIN[i % len(PINYIN)]}.{i}@example.com" if i % 4 == 0 else "",
                    owner=o,
                    owner_unit_id=o.primary_unit_id,
                    created_at=now,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            Contact.objects.bulk_create(rows, batch_size=batch)
        have += size
        if have % 100000 == 0:
            print(f"  … {have:,} contacts", flush=True)


n_customers, n_contacts = args.n // 2, args.n - args.n // 2
t0 = time.perf_counter()
generate(n_customers, n_contacts)
print(
    f"data: {Customer.objects.unrestricted().count():,} customers + {Contact.objects.unrestricted().count():,} "
    f"contacts on {_setup.backend()} (prepared in {time.perf_counter() - t0:.1f} s)",
    flush=True,
)
entries = SearchEntry.objects.count()
if not (args.keep and entries):
    t0 = time.perf_counter()
    counts = search.reindex()
    entries = sum(counts.values())
    print(
        f"index: huoban search-reindex built {entries:,} tokens in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
else:
    print(f"index: reusing {entries:,} tokens")
    if connection.vendor == "postgresql":  # what a full reindex does at its end
        with connection.cursor() as cur:
            cur.execute(f"VACUUM (ANALYZE) {SearchEntry._meta.db_table}")
_setup.analyze()

RAW_SQL = (
    f"SELECT object_id, token FROM {SearchEntry._meta.db_table} WHERE object_type = %s "
    "AND token >= %s AND token < %s ORDER BY token LIMIT 63"
)
QUERIES = ["华为", "张", "张伟", "华", "北京 科技", "acme", "zhang", "1380001", "5678", "没有这个名字"]
USERS = [("admin", "all"), ("sales_manager", "unit_tree"), ("sales_rep1", "own")]

print(
    f"\n{'query':<14}{'user':<15}{'hits':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   {'raw index scan p50/p95':>22}"
)
worst = 0.0
for username, _scope in USERS:
    user = User.objects.get(username=username)
    for q in QUERIES:

        def run(user=user, q=q) -> int:
            user.__dict__.pop("_huoban_grants", None)  # a fresh request computes grants again
            return sum(len(g.hits) for g in search.search(user, q))

        hits = run()
        p50, p95, mx = _setup.timed(run, args.runs)
        worst = max(worst, p95)
        term = search.query_terms(q)[0]

        def raw(term=term) -> None:
            with connection.cursor() as cur:
                for ot in ("customer", "contact"):
                    cur.execute(RAW_SQL, [ot, term, term + "\U0010ffff"])
                    cur.fetchall()

        r50, r95, _m = _setup.timed(raw, args.runs)
        print(
            f"{q:<14}{username:<15}{hits:>5}{p50:>9.1f}{p95:>9.1f}{mx:>9.1f}   {r50:>10.2f} / {r95:.2f}",
            flush=True,
        )
print(f"\nworst p95: {worst:.1f} ms (target ≤ 100 ms) — {'OK' if worst <= 100 else 'ABOVE TARGET'}")
