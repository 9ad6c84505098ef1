"""Tasks (reminders, to-dos) related to customers and contacts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huoban.platform.records.models import BaseRecord


class Task(BaseRecord):
    object_type = "task"
    resource = "tasks"
    search_fields = ("title", "description")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("customer"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("contact"),
    )
    follow_up = models.ForeignKey(
        "customers.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reminder_tasks",
        verbose_name=_("follow-up"),
        help_text=_("The follow-up whose next follow-up date created this reminder."),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due"),
            models.Index(fields=["owner_unit", "-id"], name="task_unit_id"),
            models.Index(fields=["status", "due_at"], name="task_status_due"),
            models.Index(fields=["customer", "-id"], name="task_customer_id"),
        ]

    def __str__(self) -> str:
        return self.title
