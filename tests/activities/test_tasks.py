import datetime as dt

import pytest
from django.utils import timezone

from huoban.activities.models import Task
from huoban.activities.services import remind_due_tasks
from huoban.customers.services import customer_create
from huoban.platform.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_task_lifecycle(org, api):
    c = customer_create(actor=org.sales_rep1, data={"name": "任务客户"}, check_duplicates=False)
    rep = api(org.sales_rep1)
    due = timezone.now() + dt.timedelta(hours=2)
    r = rep.post(
        "/api/v1/tasks/",
        {"title": "打电话确认报价", "due_at": due.isoformat(), "priority": "high", "customer": c.pk},
        format="json",
    )
    assert r.status_code == 201, r.content
    t = r.json()
    assert t["status"] == "open" and t["customer"] == c.pk and t["owner"]["username"] == "sales_rep1"
    r = rep.post(f"/api/v1/tasks/{t['id']}/complete/")
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["completed_at"]
    assert rep.get("/api/v1/tasks/?status=open").json()["count"] == 0
    r = rep.post(f"/api/v1/tasks/{t['id']}/reopen/")
    assert r.json()["status"] == "open" and r.json()["completed_at"] is None
    assert rep.get(f"/api/v1/tasks/?customer={c.pk}").json()["count"] == 1


def test_task_validation_and_assignment(org, api):
    rep = api(org.sales_rep1)
    assert set(rep.post("/api/v1/tasks/", {"title": ""}, format="json").json()) == {"title"}
    other = customer_create(actor=org.sales_rep3, data={"name": "别人的客户"}, check_duplicates=False)
    r = rep.post("/api/v1/tasks/", {"title": "x", "customer": other.pk}, format="json")
    assert r.status_code == 400 and "customer" in r.json()
    r = api(org.sales_manager).post(
        "/api/v1/tasks/", {"title": "分配给李娜", "assignee": org.sales_rep1.pk}, format="json"
    )
    assert r.status_code == 201 and r.json()["owner"]["username"] == "sales_rep1"
    assert rep.get(f"/api/v1/tasks/{r.json()['id']}/").status_code == 200


def test_due_tasks_are_reminded_once(org):
    Task.objects.create(title="到期", owner=org.sales_rep1, due_at=timezone.now() - dt.timedelta(minutes=1))
    Task.objects.create(title="未到期", owner=org.sales_rep1, due_at=timezone.now() + dt.timedelta(days=1))
    assert remind_due_tasks() == 1
    assert remind_due_tasks() == 0
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="task.due").count() == 1
