"""Locale-aware formatting for pages: dates (2026年11月22日 / Nov 22, 2026), money (¥1,234.50),
numbers, relative times ("3 小时前" / "3 hours ago"). Used by the ``ui`` template tags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}


def is_zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def localized_name(obj: Any) -> str:
    """``name_zh_hans`` (or ``label_zh_hans``) when the page is Chinese and the object has one
    (roles, picklists, custom fields …), else its name (or label)."""
    zh = getattr(obj, "name_zh_hans", "") or getattr(obj, "label_zh_hans", "")
    if is_zh() and zh:
        return str(zh)
    return str(getattr(obj, "name", "") or getattr(obj, "label", "") or obj)


def option_choices(options: Any) -> list[tuple[str, str]]:
    """(value, label in the page's language) of a custom field's options — plain strings or
    ``{value, label, label_zh_hans}``."""
    out = []
    for o in options or []:
        if isinstance(o, dict):
            label = o.get("label_zh_hans") if is_zh() and o.get("label_zh_hans") else o.get("label")
            out.append((str(o.get("value")), str(label or o.get("value"))))
        else:
            out.append((str(o), str(o)))
    return out


def _local(value: Any) -> Any:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _parse(value: Any) -> Any:
    if isinstance(value, str):
        from django.utils.dateparse import parse_date, parse_datetime

        return parse_datetime(value) or parse_date(value)
    return value


def fdate(value: Any) -> str:
    value = _local(_parse(value))
    if not isinstance(value, dt.date):
        return "" if value in (None, "") else str(value)
    return date_format(value, "Y年n月j日" if is_zh() else "M j, Y")


def fdatetime(value: Any) -> str:
    value = _parse(value)
    if not isinstance(value, dt.datetime):
        return fdate(value)
    value = _local(value)
    return date_format(value, "Y年n月j日 H:i" if is_zh() else "M j, Y H:i")


def fnumber(value: Any, decimals: int | None = None) -> str:
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if decimals is None:
        exp = d.as_tuple().exponent
        decimals = max(0, -exp) if isinstance(exp, int) else 0
    # Both English and Chinese business writing group by thousands with "," and use "." for decimals.
    return f"{d:,.{decimals}f}"


def money(value: Any, currency: str = "CNY") -> str:
    """¥1,234.50 — two decimals, grouping, the currency's symbol (or its code)."""
    if value in (None, ""):
        return ""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    code = (currency or "CNY").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    digits = f"{abs(d):,.2f}"
    sign = "-" if d < 0 else ""
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{code} {digits}"


def reltime(value: Any, now: Any = None) -> str:
    """ "3 hours ago" / "3 小时前"; older than a week falls back to the date."""
    value = _parse(value)
    if not isinstance(value, dt.datetime):
        return fdate(value)
    now = now or timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    delta = now - value
    seconds = int(delta.total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return _("just now")
    minutes = seconds // 60
    hours = minutes // 60
    days = hours // 24
    if future:
        if minutes < 60:
            return ngettext("in %(n)d minute", "in %(n)d minutes", max(minutes, 1)) % {"n": max(minutes, 1)}
        if hours < 24:
            return ngettext("in %(n)d hour", "in %(n)d hours", hours) % {"n": hours}
        if days < 7:
            return ngettext("in %(n)d day", "in %(n)d days", days) % {"n": days}
        return fdate(value)
    if minutes < 60:
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", max(minutes, 1)) % {"n": max(minutes, 1)}
    if hours < 24:
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    if days == 1:
        return _("yesterday")
    if days < 7:
        return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}
    return fdate(value)


def initials(user: Any) -> str:
    name = str(user or "").strip()
    if not name:
        return "?"
    first = name.split()[0]
    if any("\u4e00" <= ch <= "\u9fff" for ch in first):
        # Chinese names: the last two characters, as Chinese office apps show them
        return first[-2:]
    parts = [p for p in name.replace("_", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper()
