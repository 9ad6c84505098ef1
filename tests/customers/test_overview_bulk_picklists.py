import pytest

from huoban.customers.models import Customer, CustomerIdentifier
from huoban.customers.overview import register_figure
from huoban.customers.services import customer_bulk_create
from huoban.customers.validation import clean_customer_data
from huoban.platform.audit.models import AuditEvent
from huoban.platform.records.models import Picklist, PicklistValue
from huoban.platform.records.picklists import load_picklists, resolve_picklist
from huoban.platform.records.regions import resolve_region

pytestmark = pytest.mark.django_db


def test_overview_reports_not_yet_for_missing_modules(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    r = api(org.sales_rep1).get(f"/api/v1/customers/{c.pk}/overview/")
    assert r.status_code == 200
    figures = {f["key"]: f for f in r.json()["figures"]}
    assert set(figures) >= {
        "lifetime_revenue",
        "open_opportunities_amount",
        "receivables_due",
        "open_tickets",
        "last_contact",
        "days_since_last_order",
    }
    for key in ("lifetime_revenue", "receivables_due", "open_tickets", "days_since_last_order"):
        if not figures[key]["available"]:
            assert figures[key]["value"] is None
    assert figures["last_contact"]["available"] is True
    related = {x["key"]: x for x in r.json()["related"]}
    assert related["contacts"]["count"] == 0 and "follow_ups" in related and "tasks" in related
    # service agents see profiles but not tasks
    r = api(org.service_agent).get(f"/api/v1/customers/{c.pk}/overview/")
    assert "tasks" not in {x["key"] for x in r.json()["related"]}


def test_overview_provider_registry(org, api, make_customer, monkeypatch):
    from huoban.customers import overview

    monkeypatch.setitem(
        overview.FIGURES,
        "open_tickets",
        overview.FIGURES["open_tickets"].__class__(**vars(overview.FIGURES["open_tickets"])),
    )
    register_figure("open_tickets", provider=lambda c, u: 3, permission=("ticket", "view"))
    c = make_customer(org.sales_rep1)
    figures = {
        f["key"]: f
        for f in api(org.service_agent).get(f"/api/v1/customers/{c.pk}/overview/").json()["figures"]
    }
    assert figures["open_tickets"] == {
        "key": "open_tickets",
        "label": "Open tickets",
        "kind": "count",
        "value": 3,
        "available": True,
    }
    figures = {
        f["key"] for f in api(org.sales_rep1).get(f"/api/v1/customers/{c.pk}/overview/").json()["figures"]
    }
    assert "open_tickets" not in figures  # reps may not see tickets


def test_bulk_create(org):
    rows = []
    for i in range(50):
        cleaned, errors = clean_customer_data(
            {"name": f"批量客户{i}有限公司", "phone": f"1380000{i:04d}", "region": "上海", "tags": ["导入"]}
        )
        assert not errors
        rows.append(cleaned)
    ids = customer_bulk_create(actor=org.sales_rep1, rows=rows, audit_data={"import": 1})
    assert len(ids) == 50
    objs = list(Customer.objects.unrestricted().filter(pk__in=ids).order_by("pk"))
    assert objs[0].owner == org.sales_rep1 and objs[0].owner_unit_id == org.sales_rep1.primary_unit_id
    assert len({o.number for o in objs}) == 50 and objs[0].name_key == "批量客户0"
    assert CustomerIdentifier.objects.filter(customer_id__in=ids).count() == 50
    assert AuditEvent.objects.filter(action="create", object_type="customer").count() == 50
    assert objs[0].tag_names == ["导入"]


def test_picklists_loaded_and_idempotent():
    assert Picklist.objects.filter(key__in=["industry", "region", "customer_source"]).count() == 3
    assert PicklistValue.objects.filter(picklist__key="industry", parent__isnull=True).count() == 20
    assert PicklistValue.objects.filter(picklist__key="industry", parent__isnull=False).count() == 97
    n = PicklistValue.objects.count()
    PicklistValue.objects.filter(picklist__key="industry", code="65").update(label="Software (edited)")
    assert load_picklists() == {"industry": 0, "region": 0, "customer_source": 0}
    assert PicklistValue.objects.count() == n
    assert PicklistValue.objects.get(picklist__key="industry", code="65").label == "Software (edited)"
    hz = PicklistValue.objects.get(picklist__key="region", code="330100")
    assert hz.parent.code == "330000" and hz.label_zh_hans == "杭州市" and "杭州" in hz.aliases
    assert resolve_picklist("industry", "Software (edited)") == "65"
    assert resolve_picklist("region", "Hangzhou") == "330100"


@pytest.mark.parametrize(
    "value, code",
    [
        ("330000", "330000"),
        ("浙江", "330000"),
        ("浙江省", "330000"),
        ("Zhejiang", "330000"),
        ("杭州", "330100"),
        ("Hangzhou", "330100"),
        ("浙江省杭州市西湖区", "330100"),
        ("330106", "330100"),
        ("吉林", "220000"),
        ("吉林市", "220200"),
        ("Taizhou, Zhejiang", "331000"),
        ("Inner Mongolia", "150000"),
    ],
)
def test_resolve_region(value, code):
    assert resolve_region(value) == code


@pytest.mark.parametrize("value", ["Atlantis", "999999", "", "Taizhou"])
def test_resolve_region_rejects(value):
    with pytest.raises(ValueError):
        resolve_region(value)
