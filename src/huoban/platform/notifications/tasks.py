"""Email delivery runs in the worker (SMTP can be slow or down); retried a few times."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=60)
def deliver_notification_email(notification_id: int) -> bool:
    from .services import deliver_email

    return deliver_email(notification_id)
