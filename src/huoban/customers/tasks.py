"""Periodic jobs: nightly duplicate scan, hourly release of stale customers to public pools."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="40", hour="2"))
def nightly_duplicate_scan() -> None:
    from huoban.platform.identity.actors import SystemActor
    from huoban.platform.jobs.services import job_enqueue

    job_enqueue(
        kind="customers.duplicate_scan",
        actor=SystemActor("duplicate-scan"),
        params={"object_types": ["customer", "contact"]},
        title="Duplicate scan",
        notify=False,
    )


@db_periodic_task(crontab(minute="5"))
def hourly_pool_release() -> None:
    from .pools import pool_release_stale

    pool_release_stale()
