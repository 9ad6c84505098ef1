import pytest

from huoban.customers.duplicates import CustomerScanner, duplicate_scan_customers, find_duplicates_bulk
from huoban.customers.matching import name_key, name_score, normalize_name
from huoban.customers.models import DuplicateGroup
from huoban.platform.jobs.models import Job
from tests.customers.conftest import make_uscc


@pytest.mark.parametrize(
    "a, b",
    [
        ("北京阿里巴巴网络技术有限公司", "阿里巴巴（北京）网络技术有限责任公司"),
        ("阿里巴巴网络技术有限公司", "阿裡巴巴網絡技術有限公司"),
        ("上海市华为技术股份有限公司", "华为技术 有限公司"),
        ("ＡＣＭＥ　Ｗｉｄｇｅｔｓ　Ｃｏ．，Ｌｔｄ．", "Acme Widgets Limited"),
        ("Shanghai Acme Trading Co., Ltd.", "Acme Trading (Shanghai) Co Ltd"),
        ("The Acme Widgets Inc.", "ACME WIDGETS, LLC"),
        ("【深圳】腾讯科技有限公司", "深圳市腾讯科技有限公司"),
    ],
)
def test_same_core_name(a, b):
    assert normalize_name(a) == normalize_name(b)
    assert name_score(a, b) == 1.0


@pytest.mark.parametrize(
    "a, b",
    [
        ("杭州云栖网络科技有限公司", "杭州云海网络科技有限公司"),
        ("中国银行股份有限公司", "中国建设银行股份有限公司"),
        ("Acme Widgets Ltd", "Apex Widgets Ltd"),
        ("阿里巴巴网络技术有限公司", "阿里地区电力有限公司"),
    ],
)
def test_different_names_stay_apart(a, b):
    assert name_score(a, b) < 0.85


def test_typos_still_similar():
    assert name_score("阿里巴巴网络技术有限公司", "阿里巴巴网洛技术有限公司") >= 0.85
    assert name_score("Acme Widgets Co., Ltd.", "Acme Widgtes Co") >= 0.85
    assert name_score("华为技术有限公司", "华为") >= 0.85


def test_region_words_that_start_brands_are_kept():
    assert name_key("阿里巴巴网络技术有限公司").brand == "阿里巴巴"
    assert name_key("东方航空股份有限公司").brand.startswith("东方")


def test_scanner_finds_groups_without_database():
    s = CustomerScanner()
    s.add(1, "北京阿里巴巴网络技术有限公司")
    s.add(2, "阿里巴巴(北京)网络技术有限责任公司")
    s.add(3, "云栖科技有限公司", phone="+8613800000001")
    s.add(4, "杭州云栖科技", phone="+8613800000001")
    s.add(5, "完全无关贸易有限公司", uscc="X1")
    s.add(6, "另一家无关咨询有限公司", uscc="X1")
    s.add(7, "代理记账服务有限公司", phone="+8657100000000")
    s.add(8, "星河建筑装饰工程有限公司", phone="+8657100000000")  # shared switchboard, different company
    groups = {tuple(ids): (score, reasons) for ids, score, reasons in s.groups()}
    assert set(groups) == {(1, 2), (3, 4), (5, 6)}
    assert groups[(5, 6)] == (1.0, ["uscc"])
    assert groups[(3, 4)][1][0] == "phone"


@pytest.mark.django_db
def test_scan_job_stores_groups_and_dismissal_sticks(org, api, make_customer):
    a = make_customer(org.sales_rep1, name="北京阿里巴巴网络技术有限公司")
    b = make_customer(org.sales_rep1, name="阿里巴巴网络技术有限公司")
    c = make_customer(org.sales_rep1, name="甲贸易有限公司", uscc=make_uscc(5))
    d = make_customer(org.sales_rep3, name="乙咨询有限公司", uscc=make_uscc(5))
    mgr = api(org.sales_manager)
    assert api(org.sales_rep1).post("/api/v1/customers/duplicates/scan/").status_code == 403
    r = mgr.post("/api/v1/customers/duplicates/scan/")
    assert r.status_code == 202
    job = Job.objects.get(pk=r.json()["job"])
    assert job.status == "done", job.error
    assert job.result["customer"]["groups"] == 2
    # the east manager only sees groups whose members are all in their scope
    groups = mgr.get("/api/v1/customers/duplicates/").json()["results"]
    assert [sorted(m["id"] for m in g["members"]) for g in groups] == [sorted([a.pk, b.pk])]
    assert groups[0]["reasons"] == ["name"] and groups[0]["members"][0]["name"]
    admin = api(org.admin)
    assert len(admin.get("/api/v1/customers/duplicates/").json()["results"]) == 2
    gid = groups[0]["id"]
    assert mgr.post(f"/api/v1/customers/duplicates/{gid}/dismiss/").json()["status"] == "dismissed"
    duplicate_scan_customers()
    open_groups = DuplicateGroup.objects.filter(object_type="customer", status="open")
    assert [sorted(g.member_ids) for g in open_groups] == [sorted([c.pk, d.pk])]
    assert DuplicateGroup.objects.get(pk=gid).status == "dismissed"
    # merging resolves the group
    admin.post(f"/api/v1/customers/{c.pk}/merge/", {"absorb": [d.pk]}, format="json")
    assert (
        DuplicateGroup.objects.get(member_ids=[c.pk, d.pk] if c.pk < d.pk else [d.pk, c.pk]).status
        == "merged"
    )


@pytest.mark.django_db
def test_contact_scan(org, api, make_customer, make_contact):
    c = make_customer(org.sales_rep1)
    x = make_contact(org.sales_rep1, customer=c, name="张伟", mobile="13500135000")
    y = make_contact(org.sales_rep1, customer=c, name="张伟", email="zw@example.com")
    make_contact(org.sales_rep1, customer=c, name="李娜")
    api(org.admin).post("/api/v1/customers/duplicates/scan/")
    groups = api(org.sales_manager).get("/api/v1/contacts/duplicates/").json()["results"]
    assert [sorted(m["id"] for m in g["members"]) for g in groups] == [sorted([x.pk, y.pk])]
    assert "same_customer" in groups[0]["reasons"]


@pytest.mark.django_db
def test_bulk_find_for_imports(org, make_customer):
    existing = make_customer(
        org.sales_rep1, name="杭州云栖科技有限公司", phone="13800138000", uscc=make_uscc(9)
    )
    rows = [
        {"name": "云栖科技(杭州)有限公司"},
        {"name": "全新公司", "phone": "+8613800138000"},
        {"name": "另一个", "uscc": make_uscc(9)},
        {"name": "批内重复贸易有限公司"},
        {"name": "批内重复贸易有限责任公司"},
        {"name": "毫无关系的名字"},
    ]
    found = find_duplicates_bulk(rows)
    assert found[0][0]["id"] == existing.pk
    assert found[1][0]["reasons"] == ["phone"]
    assert found[2][0]["reasons"] == ["uscc"]
    assert found[4][0]["row"] == 3
    assert 5 not in found and 3 not in found
    assert find_duplicates_bulk(rows, fuzzy=False)[1][0]["id"] == existing.pk


@pytest.mark.django_db
def test_duplicate_check_endpoint(org, api, make_customer):
    existing = make_customer(org.sales_rep2, name="杭州云栖科技有限公司")
    r = api(org.sales_rep1).post(
        "/api/v1/customers/duplicates/check/", {"name": "云栖科技有限公司"}, format="json"
    )
    assert r.status_code == 200 and r.json()["duplicates"][0]["id"] == existing.pk
