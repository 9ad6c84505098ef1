"""Contacts and follow-ups import through the customers app's own services, row by row."""

from huoban.customers.models import Contact, ContactCustomer, FollowUp
from huoban.customers.services import customer_create

from .conftest import conserved, issues, run_import


def test_contacts_link_to_customers(org):
    c = customer_create(actor=org.sales_rep1, data={"name": "杭州甲科技有限公司", "phone": "13800138000"})
    rows = [
        ["姓名", "客户名称", "手机", "职务", "邮箱"],
        ["李雷", "杭州甲科技有限公司", "13911112222", "总经理", "li@a.cn"],
        ["韩梅梅", c.number, "13911113333", "", ""],
        ["王五", "不存在的客户", "13911114444", "", ""],
        ["李雷", "杭州甲科技有限公司", "139 1111 2222", "", ""],  # same name + mobile
        ["赵六", "", "bad", "", ""],
    ]
    run = run_import(org.sales_manager, rows, object_type="contact")
    assert run.status == "done", run.error
    assert run.counts == {"read": 5, "created": 2, "updated": 0, "skipped": 1, "rejected": 2}, issues(run)
    assert conserved(run)
    li = Contact.objects.unrestricted().get(name="李雷")
    assert li.customer == c and li.mobile == "+8613911112222" and li.title == "总经理"
    assert li.owner == org.sales_rep1  # a contact belongs to its customer's owner
    assert ContactCustomer.objects.filter(contact=li, customer=c, is_primary=True).exists()
    msgs = {row: errs[0]["message"] for row, errs in issues(run)}
    assert "不存在的客户" in msgs[4]


def test_follow_ups(org):
    c = customer_create(actor=org.sales_rep1, data={"name": "杭州甲科技有限公司", "phone": "13800138000"})
    rows = [
        ["客户名称", "跟进方式", "跟进时间", "跟进内容"],
        ["杭州甲科技有限公司", "拜访", "2024-03-05 10:00", "上门演示"],
        ["杭州甲科技有限公司", "call", "2024/3/6 9:30", "电话回访"],
        ["杭州甲科技有限公司", "call", "2024/3/6 9:30", "电话回访"],  # the same follow-up again
        ["杭州甲科技有限公司", "call", "2030-01-01", "未来"],
        ["", "call", "2024-03-06", "无客户"],
    ]
    run = run_import(org.sales_manager, rows, object_type="follow_up")
    assert run.counts == {"read": 5, "created": 2, "updated": 0, "skipped": 1, "rejected": 2}, issues(run)
    fus = FollowUp.objects.unrestricted().filter(customer=c).order_by("occurred_at")
    assert [f.type for f in fus] == ["visit", "call"]
    c.refresh_from_db()
    assert c.last_contacted_at is not None  # the service's side effects happened


def test_service_path_receives_the_owner_column(org):
    from huoban.leads.models import Lead

    c = customer_create(actor=org.sales_rep1, data={"name": "杭州甲科技有限公司", "phone": "13800138000"})
    rows = [["姓名", "客户名称", "手机", "负责人"], ["李雷", c.number, "13911112222", "sales_rep2"]]
    run = run_import(org.admin, rows, object_type="contact")
    assert run.counts["created"] == 1, issues(run)
    assert Contact.objects.unrestricted().get(name="李雷").owner == org.sales_rep2
    rows = [["姓名", "手机", "负责人"], ["王一", "13800138001", "sales_rep1"], ["李二", "13900139002", ""]]
    run = run_import(org.admin, rows, object_type="lead")
    assert run.counts["created"] == 2, issues(run)
    assert Lead.objects.unrestricted().get(name="王一").owner == org.sales_rep1
    assert Lead.objects.unrestricted().get(name="李二").owner is not None
