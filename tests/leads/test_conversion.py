"""Conversion: customer (new or linked), contact, optional opportunity; follow-ups and attachments
carry over; automatic conversion from a won follow-up."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from huoban.customers.models import Attachment, Contact, Customer, FollowUp
from huoban.leads.models import Lead
from huoban.platform.audit.models import AuditEvent
from huoban.sales.models import Opportunity


def test_convert_creates_customer_contact_and_opportunity(org, api, make_lead):
    lead = make_lead(
        org.sales_rep1,
        name="周杰",
        company="宁波海天精工机械有限公司",
        title="采购总监",
        phone="13800001111",
        email="zhou@haitian.cn",
        region="宁波",
        source="exhibition",
        company_size="100-499",
        budget="300000",
    )
    rep = api(org.sales_rep1)
    rep.post(
        f"/api/v1/leads/{lead.pk}/follow-ups/",
        {"type": "visit", "content": "参观工厂", "outcome": "有意向"},
        format="json",
    )
    upload = SimpleUploadedFile("需求.txt", "需求说明".encode(), content_type="text/plain")
    r = rep.post(f"/api/v1/leads/{lead.pk}/attachments/", {"file": upload}, format="multipart")
    assert r.status_code == 201, r.content
    r = rep.post(
        f"/api/v1/leads/{lead.pk}/convert/",
        {"create_opportunity": True, "opportunity": {"name": "海天 CRM 项目"}},
        format="json",
    )
    assert r.status_code == 200, r.content
    out = r.json()
    customer = Customer.objects.unrestricted().get(pk=out["customer"])
    contact = Contact.objects.unrestricted().get(pk=out["contact"])
    opp = Opportunity.objects.unrestricted().get(pk=out["opportunity"])
    assert out["customer_created"] is True
    assert customer.name == "宁波海天精工机械有限公司" and customer.owner == org.sales_rep1
    assert customer.region == lead.region and customer.source == "exhibition" and customer.size == "100-499"
    assert (
        contact.name == "周杰" and contact.customer_id == customer.pk and contact.mobile == "+8613800001111"
    )
    assert opp.name == "海天 CRM 项目" and opp.customer_id == customer.pk and opp.source_lead_id == lead.pk
    assert opp.amount == 300000 and opp.source == "exhibition" and opp.stage.code == "needs_confirmed"
    assert list(opp.contact_links.values_list("contact_id", "role")) == [(contact.pk, "decision_maker")]
    # follow-ups and attachments carried over
    fu = FollowUp.objects.unrestricted().get(customer=customer)
    assert fu.type == "visit" and fu.content == "参观工厂" and fu.contact_id == contact.pk
    assert Attachment.objects.get(customer=customer).name == "需求.txt"
    # the lead keeps the links and is read-only now
    body = rep.get(f"/api/v1/leads/{lead.pk}/").json()
    assert body["status"] == "converted"
    assert (body["converted_customer"], body["converted_contact"], body["converted_opportunity"]) == (
        customer.pk,
        contact.pk,
        opp.pk,
    )
    assert rep.patch(f"/api/v1/leads/{lead.pk}/", {"company": "x"}, format="json").status_code == 400
    assert rep.post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json").status_code == 400
    assert AuditEvent.objects.filter(object_type="lead", object_id=str(lead.pk), action="convert").exists()


def test_convert_links_existing_customer(org, api, make_lead, make_customer):
    customer = make_customer(org.sales_rep1, name="苏州工业园区博远电子有限公司")
    lead = make_lead(org.sales_rep1, name="陈", company="博远电子(苏州)有限公司")
    r = api(org.sales_rep1).post(
        f"/api/v1/leads/{lead.pk}/convert/", {"customer": customer.pk}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["customer"] == customer.pk and r.json()["customer_created"] is False
    # the matcher links an existing customer when it is sure (same phone)
    other = make_customer(org.sales_rep1, name="无锡华光锅炉股份有限公司", phone="13912345678")
    lead2 = make_lead(org.sales_rep1, name="赵", company="华光锅炉", phone="13912345678")
    r = api(org.sales_rep1).post(f"/api/v1/leads/{lead2.pk}/convert/", {}, format="json")
    assert r.json()["customer"] == other.pk
    # a customer outside the user's scope cannot be linked
    foreign = make_customer(org.sales_rep3, name="大连船舶重工")
    lead3 = make_lead(org.sales_rep1)
    r = api(org.sales_rep1).post(
        f"/api/v1/leads/{lead3.pk}/convert/", {"customer": foreign.pk}, format="json"
    )
    assert r.status_code == 400 and "customer" in r.json()


def test_convert_permissions_and_unqualified(org, api, make_lead):
    lead = make_lead(org.marketing)
    # marketing may change leads but not create customers
    r = api(org.marketing).post(f"/api/v1/leads/{lead.pk}/convert/", {}, format="json")
    assert r.status_code == 403
    lead2 = make_lead(org.sales_rep1)
    Lead.objects.filter(pk=lead2.pk).update(status="unqualified")
    r = api(org.sales_rep1).post(f"/api/v1/leads/{lead2.pk}/convert/", {}, format="json")
    assert r.status_code == 400 and "status" in r.json()


def test_follow_up_won_converts_and_invalid_disqualifies(org, api, make_lead):
    lead = make_lead(org.sales_rep1, name="孙", company="合肥科大讯联有限公司")
    rep = api(org.sales_rep1)
    r = rep.post(
        f"/api/v1/leads/{lead.pk}/follow-ups/", {"type": "call", "content": "电话沟通"}, format="json"
    )
    assert r.status_code == 201, r.content
    lead.refresh_from_db()
    assert lead.status == "contacted"
    r = rep.post(
        f"/api/v1/leads/{lead.pk}/follow-ups/", {"type": "meeting", "outcome": "成交"}, format="json"
    )
    assert r.status_code == 201
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_customer is not None
    assert FollowUp.objects.unrestricted().filter(customer=lead.converted_customer).count() == 2
    other = make_lead(org.sales_rep1)
    rep.post(
        f"/api/v1/leads/{other.pk}/follow-ups/",
        {"type": "call", "content": "空号", "result": "invalid"},
        format="json",
    )
    other.refresh_from_db()
    assert other.status == "unqualified" and other.unqualified_reason == "空号"
    r = rep.post(f"/api/v1/leads/{other.pk}/follow-ups/", {"type": "call"}, format="json")
    assert r.status_code == 400 and "content" in r.json()
    acts = rep.get(f"/api/v1/leads/{other.pk}/activities/").json()["results"]
    assert {a["event"] for a in acts} >= {"follow_up", "created"}


def test_customer_follow_up_won_converts_matched_lead(org, make_customer):
    from huoban.customers.services import follow_up_create
    from huoban.leads.services import lead_create

    customer = make_customer(org.sales_rep1, name="厦门鹭岛食品有限公司", phone="13650001234")
    lead = lead_create(
        actor=org.sales_rep1, data={"name": "吴", "phone": "13650001234"}, dedup_policy="attach"
    )
    assert lead.matched_customer_id == customer.pk
    follow_up_create(actor=org.sales_rep1, customer=customer, data={"type": "call", "outcome": "成交"})
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_customer_id == customer.pk
