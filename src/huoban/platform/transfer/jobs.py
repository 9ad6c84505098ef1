"""Job handlers: imports, undo and exports run in the background (job framework + Huey).

Handlers are safe to retry: an import resumes after its last committed batch (the checkpoint is
written in the same transaction as the records), an undo skips the batches it already reversed,
an export starts its file again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from huoban.platform.jobs.services import Progress, job_handler, will_retry

from .models import ExportRun, ImportRun

log = logging.getLogger("huoban.transfer")
MAX_RETRIES = 3


def user_language(user: Any) -> str:
    """The language a user reads (for texts written in the background on their behalf)."""
    return user.reading_language() if user is not None else settings.LANGUAGE_CODE


def _failure(exc: Exception) -> str:
    """What the run page shows: the messages of a domain error, else the exception."""
    from huoban.platform.errors import DomainError

    from .services import error_messages

    if isinstance(exc, DomainError):
        return "; ".join(error_messages(exc))
    return f"{type(exc).__name__}: {exc}"


@job_handler("transfer.import", max_retries=MAX_RETRIES, base_delay=5)
def import_job(job: Any, progress: Progress) -> dict[str, Any]:
    from .engine import LeaseLost
    from .services import import_execute, notify_import

    run = ImportRun.objects.select_related("created_by").get(pk=job.params["run"])
    if run.status == ImportRun.Status.DONE:
        return {"import": run.pk, "counts": run.counts}
    try:
        # messages stored in the report are written in the language of the person who imports
        with translation.override(user_language(run.created_by)):
            run = import_execute(run, progress)
    except LeaseLost:
        log.warning("import %s: another worker holds the lease; stopping", run.pk)
        return {"import": run.pk, "superseded": True}
    except Exception as exc:
        final = not will_retry(job, exc)
        message = _failure(exc)[:2000]
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED if final else ImportRun.Status.QUEUED,
            error=message,
            lease="",
            finished_at=timezone.now() if final else None,
        )
        if final:
            run.refresh_from_db()
            notify_import(run, ok=False)
        raise
    notify_import(run, ok=True)
    return {"import": run.pk, "dry_run": run.dry_run, "counts": run.counts, "url": f"/imports/{run.pk}/"}


@job_handler("transfer.undo", max_retries=MAX_RETRIES, base_delay=5)
def undo_job(job: Any, progress: Progress) -> dict[str, Any]:
    from .services import import_undo_execute

    run = ImportRun.objects.get(pk=job.params["run"])
    actor = job.actor
    try:
        result = import_undo_execute(run, actor, progress)
    except Exception as exc:
        if not will_retry(job, exc):
            result = dict(run.undo_result or {})
            result.update(status="failed", error=_failure(exc)[:500])
            ImportRun.objects.filter(pk=run.pk).update(undo_result=result)
        raise
    from django.utils.translation import gettext_noop

    from huoban.platform.notifications.services import notify

    if actor is not None:
        notify(
            recipient=actor,
            verb="import.undone",
            title=gettext_noop("Import undone: %(file)s"),
            title_args={"file": run.file_name},
            url=f"/imports/{run.pk}/",
            data={"import": run.pk, "result": result},
        )
    return {"import": run.pk, **result}


@job_handler("transfer.export", max_retries=2, base_delay=5)
def export_job(job: Any, progress: Progress) -> dict[str, Any]:
    from .exporting import export_execute

    run = ExportRun.objects.select_related("created_by").get(pk=job.params["export"])
    if run.status == ExportRun.Status.DONE:
        return {"export": run.pk, "rows": run.row_count}
    try:
        run = export_execute(run, progress)
    except Exception as exc:
        if not will_retry(job, exc):
            ExportRun.objects.filter(pk=run.pk).update(
                status=ExportRun.Status.FAILED,
                error=_failure(exc)[:2000],
                finished_at=timezone.now(),
            )
        raise
    return {"export": run.pk, "rows": run.row_count, "url": f"/exports/{run.pk}/download/"}
