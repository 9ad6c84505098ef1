import pytest

from huoban.customers.demo import demo_customers, demo_uscc
from huoban.customers.models import Contact, Customer, CustomerPool, DuplicateGroup, FollowUp
from huoban.customers.validation import validate_uscc

pytestmark = pytest.mark.django_db


def test_demo_is_realistic_and_idempotent(org):
    result = demo_customers()
    assert result["customers"] == 200
    customers = Customer.objects.unrestricted()
    assert customers.count() >= 205  # with planted duplicates
    assert customers.filter(name__regex=r"^[A-Za-z]").count() >= 15
    for c in customers.exclude(uscc="")[:50]:
        assert validate_uscc(c.uscc) == c.uscc
    assert all(p.startswith("+861") for p in customers.exclude(phone="").values_list("phone", flat=True)[:50])
    owners = set(customers.exclude(owner=None).values_list("owner__username", flat=True))
    assert owners == {"sales_rep1", "sales_rep2", "sales_rep3"}
    assert customers.filter(pool__isnull=False).count() > 0
    assert set(CustomerPool.objects.values_list("name", flat=True)) == {"华东公海", "华北公海"}
    assert Contact.objects.unrestricted().count() >= 200
    assert FollowUp.objects.unrestricted().count() >= 200
    assert DuplicateGroup.objects.filter(object_type="customer", status="open").count() >= 4
    before = customers.count()
    assert demo_customers()["customers"] == 0
    assert Customer.objects.unrestricted().count() == before


def test_demo_uscc_is_valid():
    for n in range(1, 200):
        assert validate_uscc(demo_uscc(n, "330100"))
