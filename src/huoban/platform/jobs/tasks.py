"""Huey tasks for the job framework, plus platform periodic jobs."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task
from huey.exceptions import RetryTask

from .services import RetryLater, job_execute


@db_task(retries=10, context=False)
def run_job(job_id: str) -> None:
    try:
        job_execute(job_id)
    except RetryLater as exc:
        from django.conf import settings

        if settings.HUEY.get("immediate"):
            # eager mode (tests): retry at once
            run_job.call_local(job_id)
            return
        raise RetryTask(delay=exc.delay)


@db_periodic_task(crontab(minute="15", hour="3"))
def purge_recycle_bin() -> None:
    """Hard-delete business records soft-deleted more than 90 days ago."""
    from huoban.platform.access import registry
    from huoban.platform.records.services import purge_deleted

    for object_type in registry.all_types():
        while purge_deleted(object_type.model, 90):
            pass


@db_periodic_task(crontab(minute="30", hour="3"))
def purge_idempotency_keys() -> None:
    import datetime as dt

    from django.utils import timezone

    from huoban.platform.api.models import IdempotencyKey

    IdempotencyKey.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=2)).delete()
