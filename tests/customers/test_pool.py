import datetime as dt

import pytest
from django.utils import timezone

from huoban.customers.models import Customer, CustomerPool, PoolMove
from huoban.customers.pools import pool_release_stale
from huoban.platform.audit.models import AuditEvent
from huoban.platform.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def east_pool(org):
    return CustomerPool.objects.create(
        name="华东公海",
        unit=org.units["east"],
        release_after_days=30,
        max_owned_per_rep=3,
        claim_cooldown_days=7,
    )


def test_release_and_claim(org, api, make_customer, east_pool):
    c = make_customer(org.sales_rep1)
    rep1, rep2 = api(org.sales_rep1), api(org.sales_rep2)
    r = rep1.post(f"/api/v1/customers/{c.pk}/release/", {"pool": east_pool.pk}, format="json")
    assert r.status_code == 200 and r.json() == {"released": 1}
    c.refresh_from_db()
    assert c.owner is None and c.pool == east_pool and c.owner_unit == org.units["east"]
    # the rep no longer sees it through the owner scope, but sees it in the pool
    assert rep1.get(f"/api/v1/customers/{c.pk}/").status_code == 404
    assert [
        x["id"] for x in rep2.get(f"/api/v1/customer-pools/{east_pool.pk}/customers/").json()["results"]
    ] == [c.pk]
    # the manager of the unit tree still sees it in the customer list
    assert api(org.sales_manager).get(f"/api/v1/customers/{c.pk}/").status_code == 200
    # north reps do not see the east pool
    assert api(org.sales_rep3).get(f"/api/v1/customer-pools/{east_pool.pk}/").status_code == 404
    # cool-down: the releasing rep cannot claim it back yet
    r = rep1.post(f"/api/v1/customer-pools/{east_pool.pk}/claim/", {"customers": [c.pk]}, format="json")
    assert r.status_code == 400 and "7" in r.json()["customers"][0]
    r = rep2.post(f"/api/v1/customer-pools/{east_pool.pk}/claim/", {"customers": [c.pk]}, format="json")
    assert r.status_code == 200 and r.json() == {"claimed": [c.pk]}
    c.refresh_from_db()
    assert c.owner == org.sales_rep2 and c.pool is None
    assert list(PoolMove.objects.filter(customer=c).values_list("action", flat=True)) == ["claim", "release"]
    assert set(
        AuditEvent.objects.filter(object_id=str(c.pk), action__in=["claim", "release"]).values_list(
            "action", flat=True
        )
    ) == {"claim", "release"}
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="customer.claimed").exists()
    # claimed twice
    r = api(org.sales_manager).post(
        f"/api/v1/customer-pools/{east_pool.pk}/claim/", {"customers": [c.pk]}, format="json"
    )
    assert r.status_code == 400


def test_max_owned_per_rep(org, api, make_customer, east_pool):
    for _ in range(2):
        make_customer(org.sales_rep2)
    pooled = [make_customer(org.sales_rep1) for _ in range(2)]
    api(org.sales_rep1).post(
        "/api/v1/customers/release/", {"ids": [c.pk for c in pooled], "pool": east_pool.pk}, format="json"
    )
    r = api(org.sales_rep2).post(
        f"/api/v1/customer-pools/{east_pool.pk}/claim/", {"customers": [c.pk for c in pooled]}, format="json"
    )
    assert r.status_code == 400 and "3" in r.json()["customers"][0]
    r = api(org.sales_rep2).post(
        f"/api/v1/customer-pools/{east_pool.pk}/claim/", {"customers": [pooled[0].pk]}, format="json"
    )
    assert r.status_code == 200


def test_release_by_manager_notifies_owner(org, api, make_customer, east_pool):
    c = make_customer(org.sales_rep1)
    r = api(org.sales_manager).post(f"/api/v1/customers/{c.pk}/release/", {}, format="json")
    assert r.status_code == 200  # the owner's nearest pool
    assert Customer.objects.unrestricted().get(pk=c.pk).pool == east_pool
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="customer.released").exists()


def test_stale_customers_released_automatically(org, make_customer, east_pool):
    old = make_customer(org.sales_rep1)
    fresh = make_customer(org.sales_rep1)
    north = make_customer(org.sales_rep3)
    Customer.objects.filter(pk__in=[old.pk, north.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=40)
    )
    Customer.objects.filter(pk=fresh.pk).update(
        created_at=timezone.now() - dt.timedelta(days=40),
        last_contacted_at=timezone.now() - dt.timedelta(days=2),
    )
    assert pool_release_stale() == {east_pool.pk: 1}
    assert Customer.objects.unrestricted().get(pk=old.pk).pool == east_pool
    assert Customer.objects.unrestricted().get(pk=fresh.pk).pool is None
    assert Customer.objects.unrestricted().get(pk=north.pk).pool is None  # no pool covers North
    assert PoolMove.objects.get(customer=old).action == "auto_release"
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="customer.released").exists()


def test_pool_management_needs_manage(org, api):
    r = api(org.sales_rep1).post("/api/v1/customer-pools/", {"name": "x"}, format="json")
    assert r.status_code == 403
    r = api(org.sales_manager).post(
        "/api/v1/customer-pools/",
        {"name": "华东公海", "unit": org.units["east"].pk, "release_after_days": 15},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert api(org.sales_rep1).get("/api/v1/customer-pools/").json()["results"][0]["name"] == "华东公海"
