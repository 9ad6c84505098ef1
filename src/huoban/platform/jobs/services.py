"""Background jobs: a stored Job row plus a thin Huey task that calls a registered handler.

    @job_handler("customers.dedup_scan")
    def dedup_scan(job: Job, progress: Progress) -> dict: ...

    job = job_enqueue(kind="customers.dedup_scan", actor=user, params={...})

Handlers must be safe to retry (idempotent); on an exception the task is retried with
exponential backoff up to ``max_retries`` times, then the job is marked failed and its actor is
notified. ``Progress`` updates the row (throttled) so the UI/API can poll it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from huoban.platform.errors import DomainError, error_messages
from huoban.platform.identity.actors import Actor, actor_name, actor_user

from .models import Job

log = logging.getLogger("huoban.jobs")


@dataclass
class HandlerSpec:
    func: Callable[..., Any]
    max_retries: int = 3
    base_delay: int = 5  # seconds; doubles each retry


_HANDLERS: dict[str, HandlerSpec] = {}


def job_handler(kind: str, *, max_retries: int = 3, base_delay: int = 5) -> Callable[[Callable], Callable]:
    def deco(func: Callable) -> Callable:
        _HANDLERS[kind] = HandlerSpec(func, max_retries, base_delay)
        return func

    return deco


def handler_for(kind: str) -> HandlerSpec:
    return _HANDLERS[kind]


class Progress:
    """Progress reporter; writes at most every 0.5 s unless forced."""

    def __init__(self, job: Job):
        self.job = job
        self._last = 0.0

    def __call__(self, percent: float, message: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        pct = max(0, min(100, int(percent)))
        if not force and now - self._last < 0.5 and pct < 100:
            return
        self._last = now
        self.job.progress = pct
        if message:
            self.job.message = message[:300]
        Job.objects.filter(pk=self.job.pk).update(progress=pct, message=self.job.message)


def job_enqueue(
    *, kind: str, actor: Actor, params: dict[str, Any] | None = None, title: str = "", notify: bool = True
) -> Job:
    if kind not in _HANDLERS:
        raise KeyError(f"no job handler registered for {kind!r}")
    user = actor_user(actor)
    job = Job.objects.create(
        kind=kind,
        title=title or kind,
        params=params or {},
        actor=user,
        actor_name=actor_name(actor),
        notify=notify,
    )
    from huoban.platform.events.bus import after_commit

    from .tasks import run_job

    after_commit(lambda: run_job(str(job.pk)))
    return job


def job_execute(job_id: str) -> Job | None:
    """Run one job (called by the Huey task). Raises to let the task retry with backoff."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return job
    spec = _HANDLERS.get(job.kind)
    if spec is None:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=f"unknown job kind {job.kind}")
        return job
    job.attempts += 1
    job.status = Job.Status.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.save(update_fields=["attempts", "status", "started_at"])
    progress = Progress(job)
    try:
        result = spec.func(job, progress)
    except Exception as exc:
        if isinstance(exc, DomainError):
            log.warning("job %s (%s) refused: %s", job.pk, job.kind, exc)
            job.error = "; ".join(error_messages(exc))[:5000]
        else:
            log.exception("job %s (%s) failed on attempt %s", job.pk, job.kind, job.attempts)
            job.error = f"{type(exc).__name__}: {exc}"[:5000]
        if will_retry(job, exc):
            job.status = Job.Status.QUEUED
            job.message = f"retrying ({job.attempts}/{spec.max_retries})"
            job.save(update_fields=["error", "status", "message"])
            raise RetryLater(spec.base_delay * (2 ** (job.attempts - 1))) from exc
        job.status = Job.Status.FAILED
        job.finished_at = timezone.now()
        job.save(update_fields=["error", "status", "finished_at"])
        _notify_done(job)
        return job
    job.refresh_from_db()
    if job.status == Job.Status.CANCELLED:
        return job
    job.status = Job.Status.DONE
    job.progress = 100
    job.result = result if isinstance(result, dict) else {"value": result}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "result", "finished_at"])
    _notify_done(job)
    return job


def will_retry(job: Job, exc: Exception) -> bool:
    """Whether a failed attempt is tried again. A domain error (bad input, refused permission,
    stale version) gives the same answer every time, so it fails the job at once; anything else
    is retried with backoff up to the handler's ``max_retries``."""
    return not isinstance(exc, DomainError) and job.attempts <= handler_for(job.kind).max_retries


class RetryLater(Exception):
    def __init__(self, delay: int):
        self.delay = delay
        super().__init__(f"retry in {delay}s")


def _notify_done(job: Job) -> None:
    if not job.notify or job.actor_id is None:
        return
    from django.utils.translation import gettext_noop

    from huoban.platform.notifications.services import notify

    ok = job.status == Job.Status.DONE
    notify(
        recipient=job.actor,
        verb="job.done" if ok else "job.failed",
        title=gettext_noop("Finished: %(title)s") if ok else gettext_noop("Failed: %(title)s"),
        title_args={"title": job.title},
        body=job.message if ok else job.error[:500],
        url=f"/jobs/{job.pk}/",
        data={"job": str(job.pk), "kind": job.kind},
    )
