import datetime as dt

import pytest
from django.utils import timezone

from huoban.activities.models import Task
from huoban.customers.models import (
    Contact,
    ContactCustomer,
    Customer,
    CustomerAddress,
    CustomerIdentifier,
    FollowUp,
    Merge,
)
from huoban.platform.audit.models import AuditEvent
from huoban.platform.records.services import current_tags
from tests.customers.conftest import make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(org, api, make_customer, make_contact):
    rep = org.sales_rep1
    survivor = make_customer(
        rep, name="杭州云栖科技有限公司", phone="13800138001", tags=["A"], address="文三路 1 号"
    )
    absorbed = make_customer(
        rep,
        name="云栖科技(杭州)有限公司",
        phone="13800138002",
        email="hi@yunqi.cn",
        uscc=make_uscc(42),
        tags=["B"],
        address="网商路 699 号",
        custom_fields={},
    )
    shared = make_contact(rep, customer=absorbed, name="共享联系人")
    ContactCustomer.objects.create(contact=shared, customer=survivor)
    only = make_contact(rep, customer=absorbed, name="只在被合并方")
    client = api(rep)
    fu = client.post(
        "/api/v1/follow-ups/",
        {
            "customer": absorbed.pk,
            "content": "拜访",
            "next_follow_up_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        },
        format="json",
    ).json()["id"]
    return survivor, absorbed, shared, only, fu


def test_merge_repoints_everything_and_undo_restores(org, api, pair):
    survivor, absorbed, shared, only, fu = pair
    mgr = api(org.sales_manager)
    r = mgr.post(
        f"/api/v1/customers/{survivor.pk}/merge/",
        {"absorb": [absorbed.pk], "choices": {"phone": absorbed.pk}},
        format="json",
    )
    assert r.status_code == 200, r.content
    merge_id = r.json()["merge"]
    s = Customer.objects.unrestricted().get(pk=survivor.pk)
    assert s.phone == "+8613800138002" and "+8613800138001" in s.phones  # chosen + combined
    assert s.email == "hi@yunqi.cn" and s.uscc == make_uscc(42)  # blanks filled
    assert current_tags(s) == ["A", "B"]
    assert FollowUp.objects.unrestricted().get(pk=fu).customer_id == survivor.pk
    assert Task.objects.unrestricted().get(follow_up_id=fu).customer_id == survivor.pk
    assert Contact.objects.unrestricted().get(pk=only.pk).customer_id == survivor.pk
    # the shared contact keeps a single link
    assert list(ContactCustomer.objects.filter(contact=shared).values_list("customer_id", flat=True)) == [
        survivor.pk
    ]
    assert CustomerAddress.objects.filter(customer=s).count() == 2
    assert CustomerAddress.objects.filter(customer=s, is_primary=True).count() == 1
    assert set(CustomerIdentifier.objects.filter(customer=s).values_list("value", flat=True)) >= {
        "+8613800138001",
        "+8613800138002",
        "hi@yunqi.cn",
    }
    t = Customer.objects.unrestricted().get(pk=absorbed.pk)
    assert t.merged_into_id == survivor.pk and t.deleted_at is not None
    # the tombstone redirects
    r = mgr.get(f"/api/v1/customers/{absorbed.pk}/")
    assert r.status_code == 301 and r["Location"] == f"/api/v1/customers/{survivor.pk}/"
    assert r.json()["merged_into"] == survivor.pk
    # someone who could not see the tombstone gets a plain 404
    assert api(org.sales_rep3).get(f"/api/v1/customers/{absorbed.pk}/").status_code == 404
    # audited
    ev = AuditEvent.objects.filter(object_type="customer", object_id=str(survivor.pk), action="merge").get()
    assert ev.data["absorbed"] == [absorbed.pk] and "phone" in ev.changes
    assert AuditEvent.objects.filter(
        object_type="customer", object_id=str(absorbed.pk), action="merge"
    ).exists()
    # listed for undo
    assert mgr.get(f"/api/v1/customers/{survivor.pk}/merges/").json()[0]["id"] == merge_id

    r = mgr.post(f"/api/v1/customers/{survivor.pk}/merge/{merge_id}/undo/")
    assert r.status_code == 200, r.content
    s.refresh_from_db()
    assert s.phone == "+8613800138001" and s.email == "" and s.uscc == "" and s.phones == []
    assert current_tags(s) == ["A"]
    t.refresh_from_db()
    assert t.merged_into_id is None and t.deleted_at is None
    assert FollowUp.objects.unrestricted().get(pk=fu).customer_id == absorbed.pk
    assert Task.objects.unrestricted().get(follow_up_id=fu).customer_id == absorbed.pk
    assert Contact.objects.unrestricted().get(pk=only.pk).customer_id == absorbed.pk
    assert sorted(
        ContactCustomer.objects.filter(contact=shared).values_list("customer_id", flat=True)
    ) == sorted([survivor.pk, absorbed.pk])
    assert CustomerAddress.objects.filter(customer=absorbed).count() == 1
    assert CustomerAddress.objects.filter(customer=s, is_primary=True).count() == 1
    assert set(CustomerIdentifier.objects.filter(customer=t).values_list("value", flat=True)) == {
        "+8613800138002",
        "hi@yunqi.cn",
    }
    assert Merge.objects.get(pk=merge_id).undone_at is not None
    assert AuditEvent.objects.filter(
        object_type="customer", object_id=str(survivor.pk), action="unmerge"
    ).exists()
    # twice is refused
    assert mgr.post(f"/api/v1/customers/{survivor.pk}/merge/{merge_id}/undo/").status_code == 400


def test_merge_permissions_and_validation(org, api, make_customer):
    a = make_customer(org.sales_rep1)
    b = make_customer(org.sales_rep1)
    other = make_customer(org.sales_rep3)
    # reps may not merge
    assert (
        api(org.sales_rep1)
        .post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [b.pk]}, format="json")
        .status_code
        == 403
    )
    mgr = api(org.sales_manager)
    # outside scope
    r = mgr.post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [other.pk]}, format="json")
    assert r.status_code == 400 and "absorb" in r.json()
    r = mgr.post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [a.pk]}, format="json")
    assert r.status_code == 400
    r = mgr.post(
        f"/api/v1/customers/{a.pk}/merge/", {"absorb": [b.pk], "choices": {"number": b.pk}}, format="json"
    )
    assert r.status_code == 400 and "choices" in r.json()


def test_undo_refused_after_30_days_or_later_merge(org, api, make_customer):
    a, b, c = (make_customer(org.sales_rep1) for _ in range(3))
    mgr = api(org.sales_manager)
    m1 = mgr.post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [b.pk]}, format="json").json()["merge"]
    m2 = mgr.post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [c.pk]}, format="json").json()["merge"]
    r = mgr.post(f"/api/v1/customers/{a.pk}/merge/{m1}/undo/")
    assert r.status_code == 400
    assert mgr.post(f"/api/v1/customers/{a.pk}/merge/{m2}/undo/").status_code == 200
    Merge.objects.filter(pk=m1).update(created_at=timezone.now() - dt.timedelta(days=31))
    assert mgr.post(f"/api/v1/customers/{a.pk}/merge/{m1}/undo/").status_code == 400


def test_merge_keeps_later_edits_on_undo(org, api, make_customer):
    a = make_customer(org.sales_rep1, name="甲")
    b = make_customer(org.sales_rep1, name="乙", website="yi.example.com")
    mgr = api(org.sales_manager)
    m = mgr.post(f"/api/v1/customers/{a.pk}/merge/", {"absorb": [b.pk]}, format="json").json()["merge"]
    mgr.patch(f"/api/v1/customers/{a.pk}/", {"website": "https://new.example.com"}, format="json")
    r = mgr.post(f"/api/v1/customers/{a.pk}/merge/{m}/undo/")
    assert r.status_code == 200 and "website" in r.json()["kept"]
    assert Customer.objects.unrestricted().get(pk=a.pk).website == "https://new.example.com"


def test_contact_merge_and_undo(org, api, make_customer, make_contact):
    c = make_customer(org.sales_rep1)
    d = make_customer(org.sales_rep1)
    x = make_contact(
        org.sales_rep1,
        customer=c,
        name="韩梅梅",
        mobile="13600136000",
        consents={"email": {"granted": False, "at": "2026-01-01T00:00:00+08:00"}},
    )
    y = make_contact(
        org.sales_rep1,
        customer=d,
        name="韩梅梅",
        email="mm@example.com",
        consents={"email": {"granted": True, "at": "2026-06-01T00:00:00+08:00"}},
    )
    fu = (
        api(org.sales_rep1)
        .post("/api/v1/follow-ups/", {"customer": d.pk, "contact": y.pk, "content": "call"}, format="json")
        .json()["id"]
    )
    mgr = api(org.sales_manager)
    r = mgr.post(f"/api/v1/contacts/{x.pk}/merge/", {"absorb": [y.pk]}, format="json")
    assert r.status_code == 200, r.content
    merged = Contact.objects.unrestricted().get(pk=x.pk)
    assert merged.email == "mm@example.com" and merged.consents["email"]["granted"] is True
    assert sorted(
        ContactCustomer.objects.filter(contact=merged).values_list("customer_id", flat=True)
    ) == sorted([c.pk, d.pk])
    assert ContactCustomer.objects.filter(contact=merged, is_primary=True).count() == 1
    assert FollowUp.objects.unrestricted().get(pk=fu).contact_id == x.pk
    assert mgr.get(f"/api/v1/contacts/{y.pk}/").status_code == 301
    r = mgr.post(f"/api/v1/contacts/{x.pk}/merge/{r.json()['merge']}/undo/")
    assert r.status_code == 200
    assert FollowUp.objects.unrestricted().get(pk=fu).contact_id == y.pk
    assert Contact.objects.unrestricted().get(pk=x.pk).email == ""


def test_related_models_of_other_apps_are_found():
    from huoban.customers.merging import CUSTOMER_MERGE, relations_to

    found = {f"{m._meta.label}.{f.name}" for m, f in relations_to(Customer, CUSTOMER_MERGE.skip_relations)}
    assert {
        "activities.Task.customer",
        "customers.FollowUp.customer",
        "customers.ContactCustomer.customer",
    } <= found
    assert "customers.CustomerIdentifier.customer" not in found
