from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "huoban.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from huoban.platform.events.bus import subscribe

        from .services import reminder_for_follow_up

        subscribe("follow_up.created", reminder_for_follow_up)
        subscribe("follow_up.rescheduled", reminder_for_follow_up)
        _register_overview()


def _register_overview() -> None:
    from huoban.customers.overview import register_related, register_timeline
    from huoban.platform.access.scoping import scoped

    from .models import Task

    register_related(
        "tasks",
        label=_("Tasks"),
        object_type="task",
        fetch=lambda c, u: scoped(u, Task).filter(customer=c).order_by("status", "due_at", "-id"),
        order=30,
        url="/tasks/{id}/",
    )

    def task_events(c, u, limit):
        rows = (
            scoped(u, Task)
            .filter(customer=c, status=Task.Status.DONE)
            .select_related("owner")
            .order_by("-completed_at")[:limit]
        )
        return [
            {
                "at": t.completed_at,
                "kind": "task",
                "title": t.title,
                "actor": str(t.owner) if t.owner_id else None,
                "object_type": "task",
                "id": t.pk,
            }
            for t in rows
        ]

    register_timeline("tasks", provider=task_events, permission=("task", "view"))
