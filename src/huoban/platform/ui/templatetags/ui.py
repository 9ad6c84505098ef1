"""Template helpers: ``{% load ui %}``.

Filters: ``fdate``, ``fdatetime``, ``reltime``, ``money:"CNY"``, ``num``, ``initials``, ``cap99``.
Tags: ``{% query_replace request key value %}`` → ?…&key=value (page reset), ``{% icon "name" %}``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from huoban.platform.ui import formatting

register = template.Library()


@register.filter
def fdate(value: Any) -> str:
    return formatting.fdate(value)


@register.filter
def fdatetime(value: Any) -> str:
    return formatting.fdatetime(value)


@register.filter
def reltime(value: Any) -> str:
    return formatting.reltime(value)


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    return formatting.money(value, currency or "CNY")


@register.filter
def num(value: Any, decimals: Any = None) -> str:
    return formatting.fnumber(value, int(decimals) if decimals not in (None, "") else None)


@register.filter
def initials(user: Any) -> str:
    return formatting.initials(user)


@register.filter
def cap99(value: Any) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return ""
    return "99+" if n > 99 else str(n)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def query_replace(request: Any, key: str, value: Any = None, *drop: str) -> str:
    """The current query string with ``key`` set (or removed when value is None/""), page reset."""
    q = request.GET.copy()
    for k in (key, "page", *drop):
        q.pop(k, None)
    if value not in (None, ""):
        q[key] = value
    encoded = q.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def icon(name: str, extra: str = "") -> str:
    return format_html('<i class="ti ti-{} {}" aria-hidden="true"></i>', name, extra)


@register.filter
def get_attr(obj: Any, name: str) -> Any:
    return getattr(obj, name, None)


@register.filter
def job_link(job: Any) -> str:
    """The download/result link of a finished job (``result.url``, ``download`` or ``download_url``)."""
    result = getattr(job, "result", None) or {}
    if not isinstance(result, dict):
        return ""
    return str(result.get("url") or result.get("download") or result.get("download_url") or "")


@register.filter
def localized_name(obj: Any) -> str:
    """``name_zh_hans`` when the page is Chinese and the object has one (roles, picklists …)."""
    from huoban.platform.ui.formatting import localized_name as name

    return name(obj)
