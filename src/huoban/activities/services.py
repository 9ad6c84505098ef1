"""Writes on tasks: create, update, complete, reopen; reminders from follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.platform.access.scoping import service
from huoban.platform.errors import ValidationError
from huoban.platform.events.bus import Event
from huoban.platform.identity.actors import Actor, SystemActor, actor_user
from huoban.platform.records.services import record_create, record_update

from .models import Task

EDITABLE = ("title", "description", "due_at", "priority", "customer", "contact", "owner")


def _clean(data: dict[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    from huoban.customers.validation import Cleaner, _choice, _datetime, _text

    f = Cleaner(data, ("customer", "contact", "owner", "follow_up"))
    f.field("title", lambda v: _text(v, 200), always=not partial)
    if f.cleaned.get("title") == "":
        f.fail("title", _("This field is required."))
    if f.has("description"):
        f.cleaned["description"] = str(data.get("description") or "")[:20000]
    f.field("due_at", _datetime)
    f.field("priority", lambda v: _choice(v or Task.Priority.NORMAL, Task.Priority), always=not partial)
    return f.result()


@service
def task_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    event: bool = True,
) -> Task:
    """``data`` may carry ``customer``/``contact`` (instances; the caller checked access) and
    ``owner`` (the assignee; default: the actor)."""
    cleaned, errors = _clean(data, partial=False)
    if errors:
        raise ValidationError(errors)
    contact = cleaned.get("contact")
    customer = cleaned.get("customer")
    if contact is not None and customer is not None:
        if not contact.customer_links.filter(customer=customer).exists():
            raise ValidationError({"contact": [_("This contact does not belong to the customer.")]})
    obj = Task(**{k: v for k, v in cleaned.items() if k in (*EDITABLE, "follow_up")})
    return record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags, event=event)


@service
def task_update(
    *,
    actor: Actor,
    task: Task,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
) -> Task:
    cleaned, errors = _clean(data, partial=True)
    if errors:
        raise ValidationError(errors)
    if "due_at" in cleaned:
        cleaned["reminded_at"] = None
    return record_update(
        actor=actor,
        obj=task,
        data=cleaned,
        custom_fields=custom_fields,
        tags=tags,
        version=version,
        allowed_fields=(*EDITABLE, "reminded_at"),
    )


@service
def task_complete(*, actor: Actor, task: Task, version: int | None = None) -> Task:
    if task.status == Task.Status.DONE:
        return task
    return record_update(
        actor=actor,
        obj=task,
        data={"status": Task.Status.DONE, "completed_at": timezone.now()},
        version=version,
        allowed_fields=("status", "completed_at"),
    )


@service
def task_reopen(*, actor: Actor, task: Task, version: int | None = None) -> Task:
    if task.status == Task.Status.OPEN:
        return task
    return record_update(
        actor=actor,
        obj=task,
        data={"status": Task.Status.OPEN, "completed_at": None},
        version=version,
        allowed_fields=("status", "completed_at"),
    )


# --- reminders from follow-ups (event handlers) -------------------------------------------------


@service
def reminder_for_follow_up(event: Event) -> Task | None:
    """``follow_up.created`` / ``follow_up.rescheduled``: one open reminder task per follow-up,
    for the customer's owner, due at the next follow-up time."""
    from huoban.customers.models import FollowUp

    when = event.payload.get("next_follow_up_at")
    fu = (
        FollowUp.objects.unrestricted()
        .select_related("customer", "contact")
        .filter(pk=event.payload["id"])
        .first()
    )
    if fu is None:
        return None
    existing = (
        Task.objects.unrestricted()
        .filter(follow_up=fu, status=Task.Status.OPEN, deleted_at__isnull=True)
        .first()
    )
    if not when:
        if existing is not None:
            task_complete(actor=event.actor or SystemActor("follow-up"), task=existing)
        return None
    due = dt.datetime.fromisoformat(when)
    if existing is not None:
        if existing.due_at != due:
            return task_update(
                actor=event.actor or SystemActor("follow-up"), task=existing, data={"due_at": due}
            )
        return existing
    customer = fu.customer
    owner = customer.owner or actor_user(event.actor)
    if owner is None:
        return None
    title = _("Follow up with %(customer)s") % {"customer": customer.name}
    return task_create(
        actor=event.actor or SystemActor("follow-up"),
        data={
            "title": title[:200],
            "due_at": due,
            "customer": customer,
            "contact": fu.contact,
            "follow_up": fu,
            "owner": owner,
            "description": fu.outcome,
        },
    )


@service
def remind_due_tasks(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Notify owners of open tasks that are due (once per due date)."""
    from huoban.platform.notifications.services import notify

    now = now or timezone.now()
    due = list(
        Task.objects.unrestricted()
        .filter(status=Task.Status.OPEN, deleted_at__isnull=True, due_at__lte=now, reminded_at__isnull=True)
        .select_related("owner")
        .order_by("due_at")[:limit]
    )
    for t in due:
        notify(
            recipient=t.owner,
            verb="task.due",
            title=gettext_noop("Task due: %(title)s"),
            title_args={"title": t.title},
            url=f"/tasks/{t.pk}/",
            data={"task": t.pk},
        )
    Task.objects.filter(pk__in=[t.pk for t in due]).update(reminded_at=now)
    return len(due)
