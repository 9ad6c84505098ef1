"""Working hours: the first-contact SLA counts only working time (days, hours, holidays)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value, timezone.get_default_timezone())


def _as_time(value: Any, default: str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value or default))
    except ValueError:
        return dt.time.fromisoformat(default)


def _is_working_day(day: dt.date, settings: Any) -> bool:
    if day.isoweekday() not in settings.working_days:
        return False
    return day.isoformat() not in set(settings.holidays or [])


def is_working_time(when: dt.datetime, settings: Any) -> bool:
    local = _local(when)
    start, end = _as_time(settings.work_start, "09:00"), _as_time(settings.work_end, "18:00")
    return _is_working_day(local.date(), settings) and start <= local.time() < end


def add_working_hours(start: dt.datetime, hours: Decimal | float, settings: Any) -> dt.datetime:
    """``start`` plus ``hours`` of working time (outside working time the clock waits)."""
    tz = timezone.get_default_timezone()
    remaining = dt.timedelta(hours=float(hours))
    ws, we = _as_time(settings.work_start, "09:00"), _as_time(settings.work_end, "18:00")
    if we <= ws or not settings.working_days:
        return start + remaining
    cursor = _local(start)
    for _ in range(800):  # at most ~2 years of days: a bounded loop
        day = cursor.date()
        day_start = dt.datetime.combine(day, ws, tzinfo=tz)
        day_end = dt.datetime.combine(day, we, tzinfo=tz)
        if not _is_working_day(day, settings) or cursor >= day_end:
            cursor = dt.datetime.combine(day + dt.timedelta(days=1), ws, tzinfo=tz)
            continue
        if cursor < day_start:
            cursor = day_start
        available = day_end - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = dt.datetime.combine(day + dt.timedelta(days=1), ws, tzinfo=tz)
    return start + dt.timedelta(hours=float(hours))
