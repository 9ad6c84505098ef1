"""Work that must not grow with the number of rows: pool lists, pool release and claim, the
customer timeline; and bad ids in bulk bodies answer 400, not 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huoban.customers.models import Customer, CustomerPool
from huoban.customers.pools import customer_release, pool_claim

pytestmark = pytest.mark.django_db


def _count(fn, warm=True):
    if warm:  # caches (grants, content types, picklists) fill on the first call
        fn()
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _pooled(org, make_customer, pool, n):
    out = []
    for _ in range(n):
        c = make_customer(org.sales_rep1)
        Customer.objects.filter(pk=c.pk).update(owner=None, pool=pool, pooled_at=timezone.now())
        out.append(c)
    return out


def test_pool_lists_count_customers_in_one_query(org, api, client, make_customer):
    pools = [CustomerPool.objects.create(name=f"公海{i}") for i in range(2)]
    _pooled(org, make_customer, pools[0], 2)
    rep = api(org.sales_manager)
    client.force_login(org.sales_manager)
    few_api = _count(lambda: rep.get("/api/v1/customer-pools/"))
    few_page = _count(lambda: client.get("/customer-pools/"))
    pools += [CustomerPool.objects.create(name=f"公海{i}") for i in range(2, 6)]
    _pooled(org, make_customer, pools[3], 1)
    assert _count(lambda: rep.get("/api/v1/customer-pools/")) == few_api
    assert _count(lambda: client.get("/customer-pools/")) == few_page
    counts = {p["id"]: p["customer_count"] for p in rep.get("/api/v1/customer-pools/").json()["results"]}
    assert [counts[p.pk] for p in pools] == [2, 0, 0, 1, 0, 0]
    html = client.get("/customer-pools/").content.decode()
    assert all(p.name in html for p in pools)


def test_release_and_claim_do_not_query_per_customer(org, make_customer, monkeypatch):
    # one domain event per customer stays (its subscribers, e.g. search indexing, work per
    # record); the service's own reads and writes must not grow with the number of customers
    events = []
    monkeypatch.setattr("huoban.customers.pools.emit", lambda name, **kw: events.append(name))
    pool = CustomerPool.objects.create(name="全公司公海")
    warm, small, large = ([make_customer(org.sales_rep1) for _ in range(n)] for n in (1, 2, 5))
    customer_release(actor=org.sales_rep1, customers=warm)
    few = _count(lambda: customer_release(actor=org.sales_rep1, customers=small), warm=False)
    many = _count(lambda: customer_release(actor=org.sales_rep1, customers=large), warm=False)
    assert few == many
    assert Customer.objects.unrestricted().filter(pool=pool).count() == 8

    warm, a, b = (_pooled(org, make_customer, pool, n) for n in (1, 2, 5))
    pool_claim(actor=org.sales_rep2, pool=pool, customer_ids=[c.pk for c in warm])
    few = _count(
        lambda: pool_claim(actor=org.sales_rep2, pool=pool, customer_ids=[c.pk for c in a]), warm=False
    )
    many = _count(
        lambda: pool_claim(actor=org.sales_rep2, pool=pool, customer_ids=[c.pk for c in b]), warm=False
    )
    assert few == many
    assert Customer.objects.unrestricted().filter(owner=org.sales_rep2, pool__isnull=True).count() == 8
    assert events.count("customer.released") == 8 and events.count("customer.claimed") == 8


def test_customer_timeline_does_not_query_per_task(org, api, make_customer):
    from huoban.activities.services import task_complete, task_create

    c = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)

    def add_done(n):
        for i in range(n):
            t = task_create(actor=org.sales_rep1, data={"title": f"任务{i}", "customer": c})
            task_complete(actor=org.sales_rep1, task=t)

    add_done(1)
    few = _count(lambda: rep.get(f"/api/v1/customers/{c.pk}/timeline/"))
    add_done(4)
    many = _count(lambda: rep.get(f"/api/v1/customers/{c.pk}/timeline/"))
    assert few == many
    kinds = [e["kind"] for e in rep.get(f"/api/v1/customers/{c.pk}/timeline/").json()["results"]]
    assert kinds.count("task") == 5


@pytest.mark.parametrize("path", ["/api/v1/customers/tags/", "/api/v1/customers/release/"])
def test_bulk_bodies_with_bad_ids_are_field_errors(org, api, path):
    r = api(org.sales_manager).post(path, {"ids": ["x"], "tags": ["VIP"]}, format="json")
    assert r.status_code == 400 and "ids" in r.json()


def test_non_numeric_references_are_field_errors(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/follow-ups/", {"customer": c.pk, "content": "电话沟通"}, format="json")
    assert r.status_code == 201, r.content
    r = rep.patch(f"/api/v1/follow-ups/{r.json()['id']}/", {"contact": "abc"}, format="json")
    assert r.status_code == 400 and "contact" in r.json()
    r = rep.post(f"/api/v1/customers/{c.pk}/release/", {"pool": "abc"}, format="json")
    assert r.status_code == 400 and "pool" in r.json()
