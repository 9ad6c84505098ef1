"""Periodic jobs of the leads app (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/10"))
def lead_first_contact_sla() -> None:
    """Every 10 minutes: flag leads whose first contact is overdue (owner + manager told)."""
    from .services import lead_check_sla

    lead_check_sla()


@db_periodic_task(crontab(minute="40", hour="2"))
def lead_rescore_daily() -> None:
    """Nightly: time-based scoring rules (e.g. no activity for 14 days) need a fresh look."""
    from .scoring import rescore_all

    rescore_all()
