"""Notifications: own inbox, mark read, read all, unread count, email in the recipient's language."""

from __future__ import annotations

from django.core import mail
from django.utils.translation import gettext_noop

from huoban.platform.notifications.services import notify

N = "/api/v1/notifications/"


def test_inbox_is_private_and_can_be_marked_read(org, api):
    a = notify(
        recipient=org.sales_rep1,
        verb="test.one",
        title=gettext_noop("Finished: %(title)s"),
        title_args={"title": "A"},
    )
    b = notify(recipient=org.sales_rep1, verb="test.two", title="Plain title", url="/customers/1/")
    other = notify(recipient=org.sales_rep2, verb="test.three", title="Not yours")
    rep = api(org.sales_rep1)
    body = rep.get(N).json()
    assert [n["id"] for n in body["results"]] == [b.pk, a.pk]  # newest first
    assert body["results"][1]["title"] == "Finished: A"
    assert body["results"][0]["read"] is False and body["results"][0]["url"] == "/customers/1/"
    assert rep.get(f"{N}{other.pk}/").status_code == 404
    assert rep.post(f"{N}{other.pk}/read/").status_code == 404
    assert rep.get(f"{N}unread-count/").json() == {"unread": 2}
    r = rep.post(f"{N}{a.pk}/read/")
    assert r.status_code == 200 and r.json() == {"marked": 1}
    assert rep.get(f"{N}{a.pk}/").json()["read"] is True
    assert rep.get(f"{N}unread-count/").json() == {"unread": 1}
    assert [n["id"] for n in rep.get(N, {"unread": "true"}).json()["results"]] == [b.pk]
    assert rep.post(f"{N}read-all/").json() == {"marked": 1}
    assert rep.get(f"{N}unread-count/").json() == {"unread": 0}
    # the other user's notification is untouched
    assert api(org.sales_rep2).get(f"{N}unread-count/").json() == {"unread": 1}


def test_notifications_are_read_only_resources(org, api):
    n = notify(recipient=org.sales_rep1, verb="x", title="t")
    rep = api(org.sales_rep1)
    assert rep.post(N, {"title": "x"}, format="json").status_code == 405
    assert rep.delete(f"{N}{n.pk}/").status_code == 405
    assert rep.patch(f"{N}{n.pk}/", {"title": "y"}, format="json").status_code == 405


def test_unauthenticated_inbox_is_401(db):
    from rest_framework.test import APIClient

    assert APIClient().get(N).status_code == 401


def test_email_is_sent_in_the_recipients_language(org):
    mail.outbox.clear()
    org.sales_rep1.language = "zh-hans"
    org.sales_rep1.save(update_fields=["language"])
    notify(
        recipient=org.sales_rep1,
        verb="job.done",
        title=gettext_noop("Finished: %(title)s"),
        title_args={"title": "导出"},
        body="3 rows",
        url="/jobs/1/",
        email=True,
    )
    notify(
        recipient=org.sales_rep2,
        verb="job.done",
        title=gettext_noop("Finished: %(title)s"),
        title_args={"title": "Export"},
        email=True,
    )
    assert len(mail.outbox) == 2
    zh, en = mail.outbox
    assert zh.to == [org.sales_rep1.email]
    assert zh.subject == "已完成：导出"
    assert "3 rows" in zh.body and "/jobs/1/" in zh.body
    assert en.subject == "Finished: Export"


def test_no_email_unless_asked_or_without_address(org):
    mail.outbox.clear()
    notify(recipient=org.sales_rep1, verb="x", title="t")
    org.sales_rep2.email = ""
    org.sales_rep2.save(update_fields=["email"])
    notify(recipient=org.sales_rep2, verb="x", title="t", email=True)
    assert mail.outbox == []


def test_inactive_users_get_nothing(org):
    org.sales_rep1.is_active = False
    org.sales_rep1.save(update_fields=["is_active"])
    assert notify(recipient=org.sales_rep1, verb="x", title="t", email=True) is None
