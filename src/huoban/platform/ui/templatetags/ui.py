"""Template helpers: ``{% load ui %}``.

Filters: ``fdate``, ``fdatetime``, ``reltime``, ``money:"CNY"``, ``num``, ``initials``, ``cap99``,
``already_in:title`` (a card line that would only repeat the title).
Tags: ``{% query_replace request key value %}`` → ?…&key=value (page reset), ``{% icon "name" %}``.
"""

from __future__ import annotations

import html
import re
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


_TAGS = re.compile(r"<[^>]*>")
# Legal-form endings left out when comparing a company's name with a title that names it
_LEGAL_FORMS = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|公司|co\.?,?\s*ltd\.?|ltd\.?|inc\.?|llc|corp\.?|gmbh)\s*$",
    re.IGNORECASE,
)
_PAREN_END = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


def _plain(value: Any) -> str:
    return " ".join(html.unescape(_TAGS.sub("", str(value))).split()).casefold()


@register.filter
def already_in(value: Any, title: Any) -> bool:
    """True when ``value`` says nothing ``title`` does not already say: empty ("—"), or its text
    (without a company's legal form, e.g. 有限公司 / Co., Ltd.) is contained in the title. Board
    cards use it so an opportunity named after its customer does not repeat the customer below."""
    text = _plain(value)
    if text in ("", "—", "-"):
        return True
    if not any(ch.isalpha() for ch in text):
        return False  # numbers and dates are never "contained" by accident
    core = text
    for _ in range(3):  # "Lakeside Media (Shanghai) Co., Ltd." → "lakeside media"
        core = _PAREN_END.sub("", _LEGAL_FORMS.sub("", core)).rstrip(" ,.·")
    t = _plain(title)
    return text in t or (len(core) >= 2 and core in t)


def _platform_type_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy as _

    return {
        "user": _("User"),
        "role": _("Role"),
        "org_unit": _("Unit"),
        "custom_field": _("Custom field"),
        "picklist": _("Picklist"),
        "numbering_rule": _("Numbering rule"),
    }


@register.filter
def type_label(key: Any) -> str:
    """A record type's name for people (``opportunity`` → "Opportunity" / "商机"); the key itself
    for types that have no name."""
    from django.utils.text import capfirst

    from huoban.platform.access import registry

    ot = registry.find(str(key or ""))
    if ot is not None:
        return str(capfirst(ot.label))
    label = _platform_type_labels().get(str(key))
    return str(label) if label is not None else str(key or "")
