import pytest

from huoban.customers.models import Customer, CustomerAddress, CustomerIdentifier
from tests.customers.conftest import make_uscc

pytestmark = pytest.mark.django_db


def test_create_normalises_and_numbers(org, api):
    r = api(org.sales_rep1).post(
        "/api/v1/customers/",
        {
            "name": "杭州云栖网络科技有限公司",
            "kind": "company",
            "uscc": make_uscc(1).lower(),
            "phone": "138 0013 8000",
            "phones": ["0571-88888888"],
            "email": "Info@YunQi.CN",
            "region": "杭州",
            "industry": "65",
            "addresses": [
                {"kind": "registered", "line": "西湖区文三路 1 号", "region": "330100"},
                {"kind": "office", "line": "滨江区网商路 699 号", "is_primary": True},
            ],
            "tags": ["重点"],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith("CUST") and len(body["number"]) == len("CUST20261122-0001")
    assert body["phone"] == "+8613800138000"
    assert body["phones"] == ["+8657188888888"]
    assert body["email"] == "Info@yunqi.cn"
    assert body["region"] == "330100"
    assert body["uscc"] == make_uscc(1)
    assert body["tags"] == ["重点"]
    assert body["address"] == "滨江区网商路 699 号"
    assert [a["is_primary"] for a in body["addresses"]] == [True, False]
    c = Customer.objects.unrestricted().get(pk=body["id"])
    assert c.name_key == "云栖网络科技"
    assert set(CustomerIdentifier.objects.filter(customer=c).values_list("value", flat=True)) == {
        "+8613800138000",
        "+8657188888888",
        "info@yunqi.cn",
    }


def test_field_errors_are_400(org, api):
    r = api(org.sales_rep1).post(
        "/api/v1/customers/", {"name": "", "uscc": "91330106MA2GL1RQ8Y", "phone": "12"}, format="json"
    )
    assert r.status_code == 400
    assert set(r.json()) == {"name", "uscc", "phone"}
    r = api(org.sales_rep1).post("/api/v1/customers/", {"name": "x", "nonsense": 1}, format="json")
    assert r.status_code == 400 and "nonsense" in r.json()


def test_duplicate_409_and_confirm(org, api, make_customer):
    existing = make_customer(org.sales_rep2, name="北京阿里巴巴网络技术有限公司", phone="13911112222")
    rep = api(org.sales_rep1)
    r = rep.post("/api/v1/customers/", {"name": "阿里巴巴（北京）网络技术有限责任公司"}, format="json")
    assert r.status_code == 409, r.content
    dup = r.json()["duplicates"][0]
    assert dup["id"] == existing.pk and dup["score"] >= 0.85 and "name" in dup["reasons"]
    assert set(dup) >= {"id", "name", "score", "reasons"}
    # same phone, different-looking name
    r = rep.post(
        "/api/v1/customers/", {"name": "Alibaba Beijing", "phone": "+86 139 1111 2222"}, format="json"
    )
    assert r.status_code == 409 and r.json()["duplicates"][0]["reasons"][0] == "phone"
    # confirm: saved, and the pair is remembered as different
    r = rep.post(
        "/api/v1/customers/",
        {"name": "阿里巴巴（北京）网络技术有限责任公司", "confirm_duplicate": True},
        format="json",
    )
    assert r.status_code == 201
    new_id = r.json()["id"]
    r = rep.patch(f"/api/v1/customers/{new_id}/", {"short_name": "阿里"}, format="json")
    assert r.status_code == 200


def test_same_uscc_is_duplicate_on_edit(org, api, make_customer):
    a = make_customer(org.sales_rep1, name="甲公司", uscc=make_uscc(7))
    b = make_customer(org.sales_rep1, name="完全不同的名字有限公司")
    r = api(org.sales_rep1).patch(f"/api/v1/customers/{b.pk}/", {"uscc": make_uscc(7)}, format="json")
    assert r.status_code == 409
    assert r.json()["duplicates"][0]["id"] == a.pk and r.json()["duplicates"][0]["reasons"] == ["uscc"]


def test_sensitive_fields_masked_without_permission(org, api, make_customer):
    c = make_customer(
        org.sales_rep1,
        name="张三",
        kind="individual",
        id_number="11010519491231002X",
        bank_account="6222 0212 3456 7890",
    )
    raw = Customer.objects.unrestricted().filter(pk=c.pk).values_list("id_number", flat=True)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("select id_number, id_number_index from customers_customer where id=%s", [c.pk])
        stored, index = cur.fetchone()
    assert stored.startswith("enc1:") and index and list(raw)[0] == "11010519491231002X"
    own = api(org.sales_rep1).get(f"/api/v1/customers/{c.pk}/").json()
    assert own["id_number"] == "1101**********002X"
    mgr = api(org.sales_manager).get(f"/api/v1/customers/{c.pk}/").json()
    assert mgr["id_number"] == "11010519491231002X" and mgr["bank_account"] == "6222021234567890"
    agent = api(org.service_agent).get(f"/api/v1/customers/{c.pk}/").json()
    assert "*" in agent["bank_account"]


def test_list_filters_region_and_search(org, api, make_customer):
    make_customer(org.sales_rep1, name="杭州甲科技有限公司", region="330100", phone="13800000001")
    make_customer(org.sales_rep1, name="宁波乙贸易有限公司", region="宁波")
    make_customer(org.sales_rep1, name="上海丙咨询有限公司", region="上海")
    rep = api(org.sales_rep1)
    names = lambda r: sorted(x["name"] for x in r.json()["results"])  # noqa: E731
    assert len(rep.get("/api/v1/customers/?region=330000").json()["results"]) == 2
    assert names(rep.get("/api/v1/customers/?region=310000")) == ["上海丙咨询有限公司"]
    assert names(rep.get("/api/v1/customers/?q=13800000001")) == ["杭州甲科技有限公司"]


def test_address_only_update_keeps_primary(org, api, make_customer):
    c = make_customer(org.sales_rep1, address="旧地址 1 号")
    assert CustomerAddress.objects.get(customer=c).is_primary
    r = api(org.sales_rep1).patch(f"/api/v1/customers/{c.pk}/", {"address": "新地址 2 号"}, format="json")
    assert r.status_code == 200 and r.json()["address"] == "新地址 2 号"
    assert [a["line"] for a in r.json()["addresses"]] == ["新地址 2 号"]


def test_list_query_count_is_bounded(org, api, make_customer, django_assert_max_num_queries):
    for i in range(15):
        make_customer(org.sales_rep1, address=f"地址 {i}", tags=["a"])
    client = api(org.sales_rep1)
    client.get("/api/v1/customers/")  # warm caches (content types, grants)
    with django_assert_max_num_queries(12):
        r = client.get("/api/v1/customers/")
    assert r.status_code == 200 and len(r.json()["results"]) == 15
