import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from huoban.activities.models import Task
from huoban.customers.models import Contact, ContactCustomer, Customer
from huoban.platform.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_contact_belongs_to_customers_with_one_primary(org, api, make_customer):
    a = make_customer(org.sales_rep1)
    b = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)
    r = rep.post(
        "/api/v1/contacts/",
        {
            "name": "王芳",
            "customer": a.pk,
            "customers": [b.pk],
            "mobile": "139 0013 9000",
            "title": "采购经理",
            "decision_role": "decision_maker",
            "consents": {"email": {"granted": True, "source": "展会登记"}},
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["customer"] == a.pk and body["customers"] == sorted([a.pk, b.pk])
    assert body["mobile"] == "+8613900139000"
    assert body["consents"]["email"]["granted"] is True
    assert body["owner"]["username"] == "sales_rep1"
    links = ContactCustomer.objects.filter(contact_id=body["id"])
    assert sorted(links.values_list("is_primary", flat=True)) == [False, True]
    # contacts of a customer
    assert [c["id"] for c in rep.get(f"/api/v1/contacts/?customer={b.pk}").json()["results"]] == [body["id"]]
    # a customer the user cannot see is refused
    other = make_customer(org.sales_rep3)
    r = rep.post("/api/v1/contacts/", {"name": "x", "customer": other.pk}, format="json")
    assert r.status_code == 400 and "customers" in r.json()


def test_contact_duplicate_by_mobile(org, api, make_customer, make_contact):
    c = make_customer(org.sales_rep1)
    first = make_contact(org.sales_rep1, customer=c, name="李雷", mobile="13700137000")
    r = api(org.sales_rep1).post(
        "/api/v1/contacts/", {"name": "李 雷", "mobile": "+86 137 0013 7000", "customer": c.pk}, format="json"
    )
    assert r.status_code == 409 and r.json()["duplicates"][0]["id"] == first.pk


def test_left_company_notifies_owner(org, api, make_customer, make_contact):
    c = make_customer(org.sales_rep1)
    contact = make_contact(org.sales_rep1, customer=c)
    r = api(org.sales_manager).patch(f"/api/v1/contacts/{contact.pk}/", {"left_company": True}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["left_at"] == timezone.localdate().isoformat()
    n = Notification.objects.get(recipient=org.sales_rep1, verb="contact.left_company")
    assert contact.name in n.rendered_title()


def test_follow_up_sanitised_touches_customer_and_creates_reminder(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)
    nxt = timezone.now() + dt.timedelta(days=3)
    r = rep.post(
        "/api/v1/follow-ups/",
        {
            "customer": c.pk,
            "type": "visit",
            "content": '<p>谈了报价<script>alert(1)</script> <a href="javascript:x()">x</a> <b>ok</b></p>',
            "outcome": "有意向",
            "next_follow_up_at": nxt.isoformat(),
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (
        "<script" not in body["content"]
        and "javascript" not in body["content"]
        and "<b>ok</b>" in body["content"]
    )
    c.refresh_from_db()
    assert c.last_contacted_at is not None and abs((c.next_follow_up_at - nxt).total_seconds()) < 1
    task = Task.objects.unrestricted().get(follow_up_id=body["id"])
    assert task.owner == org.sales_rep1 and task.status == "open" and task.customer_id == c.pk
    # rescheduling moves the reminder
    later = nxt + dt.timedelta(days=2)
    r = rep.patch(
        f"/api/v1/follow-ups/{body['id']}/", {"next_follow_up_at": later.isoformat()}, format="json"
    )
    assert r.status_code == 200
    task.refresh_from_db()
    assert abs((task.due_at - later).total_seconds()) < 1
    # appears on the timeline and in the overview
    tl = rep.get(f"/api/v1/customers/{c.pk}/timeline/").json()["results"]
    assert tl[0]["kind"] in ("follow_up", "change") and any(e["kind"] == "follow_up" for e in tl)
    # deleting it recomputes the customer's times
    assert rep.delete(f"/api/v1/follow-ups/{body['id']}/").status_code == 204
    c.refresh_from_db()
    assert c.last_contacted_at is None


def test_follow_up_by_someone_else_belongs_to_customer_owner(org, api, make_customer):
    c = make_customer(org.sales_rep1)
    r = api(org.sales_manager).post(
        "/api/v1/follow-ups/", {"customer": c.pk, "type": "note", "content": "经理备注"}, format="json"
    )
    assert r.status_code == 201, r.content
    fid = r.json()["id"]
    assert r.json()["owner"]["username"] == "sales_rep1"
    # the owner rep sees it, and so does the author
    assert api(org.sales_rep1).get(f"/api/v1/follow-ups/{fid}/").status_code == 200
    assert api(org.sales_manager).get(f"/api/v1/follow-ups/{fid}/").status_code == 200
    assert api(org.sales_rep2).get(f"/api/v1/follow-ups/{fid}/").status_code == 404


def test_follow_up_requires_content_and_visible_customer(org, api, make_customer):
    c = make_customer(org.sales_rep3)
    rep = api(org.sales_rep1)
    assert (
        rep.post("/api/v1/follow-ups/", {"customer": c.pk, "content": "x"}, format="json").status_code == 400
    )
    mine = make_customer(org.sales_rep1)
    r = rep.post("/api/v1/follow-ups/", {"customer": mine.pk}, format="json")
    assert r.status_code == 400 and "content" in r.json()
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    r = rep.post(
        "/api/v1/follow-ups/", {"customer": mine.pk, "content": "x", "occurred_at": future}, format="json"
    )
    assert r.status_code == 400 and "occurred_at" in r.json()


def test_attachments(org, api, make_customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = make_customer(org.sales_rep1)
    rep = api(org.sales_rep1)
    fid = rep.post("/api/v1/follow-ups/", {"customer": c.pk, "content": "附件"}, format="json").json()["id"]
    upload = SimpleUploadedFile("报价单.txt", "价格 100".encode(), content_type="text/plain")
    r = rep.post(f"/api/v1/follow-ups/{fid}/attachments/", {"file": upload}, format="multipart")
    assert r.status_code == 201, r.content
    att = r.json()
    assert att["name"] == "报价单.txt" and att["size"] == len("价格 100".encode())
    r = rep.get(att["url"])
    assert r.status_code == 200 and b"".join(r.streaming_content) == "价格 100".encode()
    assert api(org.sales_rep2).get(att["url"]).status_code == 404
    assert rep.get(f"/api/v1/follow-ups/{fid}/").json()["attachments"][0]["id"] == att["id"]


def test_transfer_moves_contacts_followups_and_open_tasks(org, api, make_customer, make_contact):
    c = make_customer(org.sales_rep1)
    contact = make_contact(org.sales_rep1, customer=c)
    rep = api(org.sales_rep1)
    rep.post(
        "/api/v1/follow-ups/",
        {
            "customer": c.pk,
            "content": "x",
            "next_follow_up_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    r = api(org.sales_manager).post(
        f"/api/v1/customers/{c.pk}/transfer/", {"owner": org.sales_rep2.pk}, format="json"
    )
    assert r.status_code == 200 and r.json() == {"transferred": 1}
    assert Contact.objects.unrestricted().get(pk=contact.pk).owner == org.sales_rep2
    assert Task.objects.unrestricted().get(customer=c).owner == org.sales_rep2
    assert Customer.objects.unrestricted().get(pk=c.pk).owner == org.sales_rep2
    assert api(org.sales_rep2).get(f"/api/v1/contacts/{contact.pk}/").status_code == 200
    assert api(org.sales_rep1).get(f"/api/v1/contacts/{contact.pk}/").status_code == 404
