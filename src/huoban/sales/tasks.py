"""Periodic jobs of the sales app (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="20", hour="*/2"))
def opportunity_stuck_alerts() -> None:
    """Every two hours: opportunities over their stage's dwell time (owner, then manager)."""
    from .services import opportunity_check_stuck

    opportunity_check_stuck()


@db_periodic_task(crontab(minute="0", hour="7", day_of_week="1"))
def weekly_sales_reports() -> None:
    """Monday 07:00: last week's report for every rep and unit (inbox + email)."""
    from .periodic import generate_sales_reports

    generate_sales_reports(kind="weekly")


@db_periodic_task(crontab(minute="10", hour="7", day="1"))
def monthly_sales_reports() -> None:
    """First of the month 07:10: last month's reports."""
    from .periodic import generate_sales_reports

    generate_sales_reports(kind="monthly")


@db_periodic_task(crontab(minute="50", hour="2"))
def stage_history_resync() -> None:
    """Nightly: re-copy owner, unit, source and liveness onto stage history rows that drifted."""
    from .services import sync_history

    sync_history()
