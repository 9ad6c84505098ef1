"""Background jobs: Huey wiring (SQLite or Redis), stored job rows with progress, polling API,
retries with exponential backoff, failure notification, periodic tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from huoban.platform.jobs.models import Job
from huoban.platform.jobs.services import RetryLater, job_enqueue, job_execute, job_handler
from huoban.platform.notifications.models import Notification

CALLS: dict[str, int] = {}
SEEN_PROGRESS: list[tuple[int, str]] = []


@job_handler("test.progress")
def _progress_job(job, progress):
    progress(10, "starting", force=True)
    row = Job.objects.get(pk=job.pk)
    SEEN_PROGRESS.append((row.progress, row.message))
    progress(60, "halfway there", force=True)
    row = Job.objects.get(pk=job.pk)
    SEEN_PROGRESS.append((row.progress, row.message))
    progress(250, "")  # clamped to 100
    return {"rows": job.params.get("rows", 0)}


@job_handler("test.flaky", max_retries=3, base_delay=5)
def _flaky_job(job, progress):
    CALLS[str(job.pk)] = CALLS.get(str(job.pk), 0) + 1
    if CALLS[str(job.pk)] <= 2:
        raise ConnectionError("temporary outage")
    return {"ok": True}


@job_handler("test.broken", max_retries=2, base_delay=5)
def _broken_job(job, progress):
    raise ValueError("always broken")


@job_handler("test.refused", max_retries=2, base_delay=5)
def _refused_job(job, progress):
    from huoban.platform.errors import ValidationError

    raise ValidationError({"batch_size": ["Enter a whole number."]})


def _settings_in_subprocess(extra_env):
    import huoban

    src = str(Path(huoban.__file__).resolve().parent.parent)
    env = {**os.environ, **extra_env, "PYTHONPATH": src, "DJANGO_SETTINGS_MODULE": "huoban.settings"}
    env.pop("HUOBAN_TESTING", None)
    code = (
        "import json, django; django.setup();"
        "from django.conf import settings; from huey.contrib.djhuey import HUEY;"
        "print(json.dumps({'class': type(HUEY).__name__, 'setting': settings.HUEY['huey_class'],"
        " 'immediate': HUEY.immediate}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settings_pick_sqlite_huey_by_default_and_redis_with_redis_url(tmp_path):
    base = {"HUOBAN_VAR_DIR": str(tmp_path), "HUOBAN_SECRET_KEY": "x" * 50}
    env = {k: v for k, v in base.items()}
    env["REDIS_URL"] = ""
    default = _settings_in_subprocess(env)
    assert default["class"] == "SqliteHuey" and default["setting"] == "huey.SqliteHuey"
    assert default["immediate"] is False
    redis = _settings_in_subprocess({**base, "REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert redis["class"] == "RedisHuey" and redis["setting"] == "huey.RedisHuey"


def test_jobs_run_eagerly_in_tests():
    from huey.contrib.djhuey import HUEY

    assert HUEY.immediate is True


def test_job_progress_result_and_polling(org, api):
    SEEN_PROGRESS.clear()
    job = job_enqueue(kind="test.progress", actor=org.sales_rep1, params={"rows": 7}, title="Import")
    assert SEEN_PROGRESS == [(10, "starting"), (60, "halfway there")]
    r = api(org.sales_rep1).get(f"/api/v1/jobs/{job.pk}/")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "done" and body["progress"] == 100
    assert body["message"] == "halfway there"
    assert body["result"] == {"rows": 7}
    assert body["attempts"] == 1 and body["actor_name"] == "sales_rep1"
    assert body["started_at"] and body["finished_at"]
    # the actor is notified
    n = Notification.objects.get(recipient=org.sales_rep1, verb="job.done")
    assert n.data["job"] == str(job.pk)
    # listed for its owner and for administrators, hidden from others (404)
    assert [j["id"] for j in api(org.sales_rep1).get("/api/v1/jobs/").json()["results"]] == [str(job.pk)]
    assert api(org.admin).get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    assert api(org.sales_rep2).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert api(org.sales_manager).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert api(org.sales_rep2).get("/api/v1/jobs/").json()["results"] == []
    # read-only API
    assert api(org.admin).delete(f"/api/v1/jobs/{job.pk}/").status_code == 405


def test_retry_with_backoff_then_success(org):
    job = job_enqueue(kind="test.flaky", actor=org.sales_rep1)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.attempts == 3
    assert job.result == {"ok": True}
    assert "ConnectionError" in job.error  # the last failure is kept for the record


def test_backoff_delays_double(org):
    job = Job.objects.create(kind="test.broken", actor=org.sales_rep1, actor_name="sales_rep1")
    delays = []
    for _ in range(2):
        with pytest.raises(RetryLater) as exc:
            job_execute(str(job.pk))
        delays.append(exc.value.delay)
    assert delays == [5, 10]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.message.startswith("retrying")
    job_execute(str(job.pk))  # third attempt: out of retries
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.attempts == 3


def test_a_domain_error_fails_at_once_with_a_readable_message(org):
    job = job_enqueue(kind="test.refused", actor=org.sales_rep1, title="Refused")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.attempts == 1  # the same input gives the same answer: no retries
    assert job.error == "batch_size: Enter a whole number."
    assert Notification.objects.filter(recipient=org.sales_rep1, verb="job.failed").count() == 1


def test_always_failing_job_fails_and_notifies_the_actor(org, api):
    job = job_enqueue(kind="test.broken", actor=org.sales_rep1, title="Broken export")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.attempts == 3  # first try + max_retries=2
    assert "always broken" in job.error
    n = Notification.objects.get(recipient=org.sales_rep1, verb="job.failed")
    assert n.rendered_title() == "Failed: Broken export"
    assert api(org.sales_rep1).get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "failed"


def test_unknown_kind_is_refused(org):
    with pytest.raises(KeyError):
        job_enqueue(kind="test.nope", actor=org.sales_rep1)


def test_periodic_tasks_are_registered():
    from huey.contrib.djhuey import HUEY

    from huoban.platform.jobs.tasks import purge_recycle_bin

    periodic = HUEY._registry._periodic_tasks
    assert type(purge_recycle_bin.task_class()) in periodic or purge_recycle_bin.task_class in periodic
    names = {t.__name__ for t in periodic}
    assert "purge_recycle_bin" in names
