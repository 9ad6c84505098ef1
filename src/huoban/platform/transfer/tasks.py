"""Periodic jobs of the transfer app.

- ``resume_stale_imports``: an import whose worker died (no heartbeat for 10 minutes) is queued
  again; it resumes after its last committed batch, so no row is imported twice.
- ``expire_exports``: export files are deleted after HUOBAN_EXPORT_KEEP_DAYS (default 7) days.
"""

from __future__ import annotations

import datetime as dt
import os

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

STALE_AFTER = dt.timedelta(minutes=int(os.environ.get("HUOBAN_IMPORT_STALE_MINUTES", "10")))
KEEP_EXPORTS = dt.timedelta(days=int(os.environ.get("HUOBAN_EXPORT_KEEP_DAYS", "7")))


def resume_stale(now: dt.datetime | None = None) -> list[int]:
    """Queue imports whose worker stopped sending heartbeats; returns their ids."""
    from huoban.platform.jobs.services import job_enqueue

    from .jobs import user_language
    from .models import ImportRun

    now = now or timezone.now()
    stale = ImportRun.objects.filter(
        status=ImportRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    ).select_related("created_by")
    resumed = []
    for run in stale:
        # take the run away from the dead worker first: its lease no longer matches
        n = ImportRun.objects.filter(pk=run.pk, lease=run.lease, status=ImportRun.Status.RUNNING).update(
            status=ImportRun.Status.QUEUED, lease="", heartbeat_at=now
        )
        if n != 1 or run.created_by is None:
            continue
        with translation.override(user_language(run.created_by)):
            title = _("Resume import of %(file)s") % {"file": run.file_name}
        job = job_enqueue(
            kind="transfer.import",
            actor=run.created_by,
            params={"run": run.pk, "resumed": True},
            title=title[:200],
            notify=False,
        )
        ImportRun.objects.filter(pk=run.pk).update(job=job)
        resumed.append(run.pk)
    return resumed


def expire(now: dt.datetime | None = None) -> int:
    from .models import ExportRun

    now = now or timezone.now()
    n = 0
    for run in ExportRun.objects.filter(finished_at__lt=now - KEEP_EXPORTS).exclude(file=""):
        run.file.delete(save=False)
        ExportRun.objects.filter(pk=run.pk).update(file="", file_size=0)
        n += 1
    return n


@db_periodic_task(crontab(minute="*/5"))
def resume_stale_imports() -> None:
    resume_stale()


@db_periodic_task(crontab(minute="45", hour="3"))
def expire_exports() -> None:
    expire()
