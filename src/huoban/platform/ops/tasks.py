"""Database housekeeping."""

from __future__ import annotations

from django.db import connection
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="7"))
def refresh_planner_statistics() -> None:
    """SQLite keeps no statistics by itself: `PRAGMA optimize` refreshes them where they went stale
    (PostgreSQL's autovacuum does this on its own)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")
