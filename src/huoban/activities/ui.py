"""Task pages (generic record pages, see docs/ui.md) and the tasks related list on customers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huoban.platform.ui.pages import (
    BulkAction,
    Column,
    FieldSpec,
    Filter,
    RecordPages,
    RelatedList,
    Section,
    register_pages,
    register_related,
)

from .models import Task
from .services import task_complete, task_create, task_update


def _bulk_complete(request: Any, pages: Any, objs: list[Task]) -> str:
    for t in objs:
        task_complete(actor=request.user, task=t)
    return gettext("%(n)d tasks done.") % {"n": len(objs)}


task_pages = register_pages(
    RecordPages(
        model=Task,
        create=task_create,
        update=task_update,
        module="customers",
        icon="checkbox",
        nav_order=35,
        default_sort="due_at",
        list_columns=[
            Column("title", link=True),
            "due_at",
            "status",
            "priority",
            Column("customer", kind="relation", select_related=("customer",)),
            Column("contact", kind="relation", select_related=("contact",), default=False),
            "owner",
        ],
        filters=[
            "status",
            "priority",
            "due_at",
            Filter("customer", kind="relation", lookup="customer"),
            "owner",
            "tags",
        ],
        form_sections=[
            Section(
                _("Task"),
                [
                    "title",
                    "due_at",
                    "priority",
                    FieldSpec("customer", lookup="customer"),
                    FieldSpec("contact", lookup="contact"),
                    FieldSpec("description", widget="textarea", width=12),
                    "owner",
                    "tags",
                ],
            ),
        ],
        header_fields=["status", "due_at", "priority", "owner"],
        select_related=("owner", "owner_unit", "customer", "contact"),
        bulk_actions=[
            BulkAction(
                key="complete", label=_("Mark done"), handler=_bulk_complete, action="change", icon="check"
            )
        ],
        empty_hint=_("Tasks and follow-up reminders appear here."),
    )
)

register_related(
    "customer",
    RelatedList(
        key="tasks",
        label=_("Tasks"),
        model=Task,
        fk="customer",
        columns=["title", "due_at", "status", "owner"],
        ordering=("status", "due_at", "-id"),
        order=30,
        add_url=lambda obj: f"/tasks/new/?customer={obj.pk}",
    ),
)
