"""Periodic job: notify owners of due tasks."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/5"))
def remind_due_tasks_job() -> None:
    from .services import remind_due_tasks

    remind_due_tasks()
