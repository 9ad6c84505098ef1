"""UI pages through Django's test client: lists, detail with the 360° tab, forms, duplicate review,
merge and undo, public pools, the merged-record redirect, tasks."""

import pytest

from huoban.customers.duplicates import duplicate_scan_customers
from huoban.customers.models import Customer, CustomerPool, DuplicateGroup, Merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_customer_list_detail_and_overview(org, web, make_customer, make_contact):
    c = make_customer(
        org.sales_rep1, name="杭州云栖科技有限公司", region="330100", industry="65", phone="13800138000"
    )
    make_contact(org.sales_rep1, customer=c, name="王芳")
    client = web(org.sales_rep1)
    r = client.get("/customers/")
    assert r.status_code == 200 and "杭州云栖科技有限公司" in r.content.decode()
    r = client.get(f"/customers/{c.pk}/")
    assert r.status_code == 200
    html = client.get(f"/customers/{c.pk}/tab/overview/").content.decode()
    assert "not yet" in html  # modules that do not exist yet
    html = client.get(f"/customers/{c.pk}/tab/related/").content.decode()
    assert "王芳" in html
    assert client.get(f"/customers/{c.pk}/tab/timeline/").status_code == 200
    assert client.get("/customers/?region=330000").status_code == 200
    assert web(org.sales_rep3).get(f"/customers/{c.pk}/").status_code == 404


def test_customer_form_validates_and_reports_duplicates(org, web, make_customer):
    make_customer(org.sales_rep1, name="北京阿里巴巴网络技术有限公司")
    client = web(org.sales_rep1)
    r = client.post(
        "/customers/new/", {"name": "x", "kind": "company", "lifecycle_stage": "prospect", "phone": "123"}
    )
    assert r.status_code in (200, 400) and "phone" in r.content.decode()
    r = client.post(
        "/customers/new/",
        {"name": "阿里巴巴网络技术有限公司", "kind": "company", "lifecycle_stage": "prospect"},
    )
    assert r.status_code in (200, 409) and "北京阿里巴巴网络技术有限公司" in r.content.decode()
    r = client.post(
        "/customers/new/",
        {
            "name": "阿里巴巴网络技术有限公司",
            "kind": "company",
            "lifecycle_stage": "prospect",
            "confirm_duplicate": "1",
        },
    )
    assert r.status_code == 302
    assert Customer.objects.unrestricted().filter(name="阿里巴巴网络技术有限公司").exists()


def test_contact_and_follow_up_pages(org, web, make_customer):
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post("/contacts/new/", {"name": "李雷", "customer": c.pk, "mobile": "13700137000"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert client.get("/contacts/").status_code == 200
    r = client.post(
        "/follow-ups/new/",
        {"customer": c.pk, "type": "call", "content": "<p>聊了报价</p>", "outcome": "有意向"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert client.get("/follow-ups/").status_code == 200
    assert "聊了报价" in client.get(f"/customers/{c.pk}/tab/timeline/").content.decode()


def test_duplicate_review_merge_undo_and_redirect(org, web, make_customer):
    a = make_customer(org.sales_rep1, name="北京阿里巴巴网络技术有限公司", phone="13800000001")
    b = make_customer(org.sales_rep2, name="阿里巴巴(北京)网络技术有限公司", phone="13800000002")
    duplicate_scan_customers()
    assert web(org.sales_rep1).get("/customers/duplicates/").status_code == 403
    client = web(org.sales_manager)
    html = client.get("/customers/duplicates/").content.decode()
    assert "阿里巴巴(北京)网络技术有限公司" in html and f"/customers/{a.pk}/merge/?absorb={b.pk}" in html
    r = client.get(f"/customers/{a.pk}/merge/?absorb={b.pk}")
    assert r.status_code == 200 and "+8613800000002" in r.content.decode()
    r = client.post(f"/customers/{a.pk}/merge/", {"absorb": [b.pk], "choice_phone": str(b.pk)})
    assert r.status_code == 302
    assert Customer.objects.unrestricted().get(pk=a.pk).phone == "+8613800000002"
    assert DuplicateGroup.objects.get().status == "merged"
    r = client.get(f"/customers/{b.pk}/")
    assert r.status_code == 302 and r["Location"] == f"/customers/{a.pk}/"
    m = Merge.objects.get()
    assert "Undo" in client.get(f"/customers/{a.pk}/tab/overview/").content.decode()
    r = client.post(f"/customers/{a.pk}/merges/{m.pk}/undo/")
    assert r.status_code == 302
    assert Customer.objects.unrestricted().get(pk=b.pk).merged_into_id is None


def test_dismiss_from_review_screen(org, web, make_customer):
    make_customer(org.sales_rep1, name="甲乙丙科技有限公司")
    make_customer(org.sales_rep1, name="甲乙丙科技有限责任公司")
    duplicate_scan_customers()
    g = DuplicateGroup.objects.get()
    r = web(org.sales_manager).post("/customers/duplicates/", {"action": "dismiss", "group": g.pk})
    assert r.status_code == 302
    g.refresh_from_db()
    assert g.status == "dismissed"


def test_pool_pages(org, web, make_customer):
    pool = CustomerPool.objects.create(name="华东公海", unit=org.units["east"], claim_cooldown_days=7)
    c = make_customer(org.sales_rep1, name="待领取客户")
    rep1 = web(org.sales_rep1)
    r = rep1.post(f"/customers/{c.pk}/release/", {"pool": pool.pk})
    assert r.status_code == 302
    rep2 = web(org.sales_rep2)
    assert "华东公海" in rep2.get("/customer-pools/").content.decode()
    assert "待领取客户" in rep2.get(f"/customer-pools/{pool.pk}/").content.decode()
    r = rep2.post(f"/customer-pools/{pool.pk}/", {"customers": [c.pk]})
    assert r.status_code == 302
    assert Customer.objects.unrestricted().get(pk=c.pk).owner == org.sales_rep2
    assert web(org.sales_rep3).get(f"/customer-pools/{pool.pk}/").status_code == 404


def test_bulk_release_and_tasks(org, web, make_customer):
    CustomerPool.objects.create(name="华东公海", unit=org.units["east"])
    c = make_customer(org.sales_rep1)
    client = web(org.sales_rep1)
    r = client.post("/customers/bulk/", {"action": "release", "ids": [c.pk]})
    assert r.status_code in (200, 302)
    assert Customer.objects.unrestricted().get(pk=c.pk).pool is not None
    r = client.post("/tasks/new/", {"title": "回电话", "priority": "high"})
    assert r.status_code == 302, r.content.decode()[:1500]
    assert "回电话" in client.get("/tasks/").content.decode()
