"""Declarative conditions (field, operator, value) — evaluated in Python, never with eval.

Used by scoring rules; the operators are those of the API: eq, ne, in, gte, lte, contains, is_empty.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from . import integration

OPERATORS = ("eq", "ne", "in", "gte", "lte", "contains", "is_empty")

# Lead fields a rule may test (plus "custom_fields.<key>").
LEAD_FIELDS = (
    "name",
    "company",
    "title",
    "phone",
    "email",
    "region",
    "company_size",
    "industry",
    "source",
    "campaign",
    "urgency",
    "budget",
    "currency",
    "requirement",
    "status",
    "owner",
    "owner_unit",
    "web_form",
    "matched_customer",
    "tags",
)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na, nb
    if isinstance(a, dt.datetime | dt.date):
        a = a.isoformat()
    if isinstance(b, dt.datetime | dt.date):
        b = b.isoformat()
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return None


def _eq(field: str, actual: Any, expected: Any) -> bool:
    if field == "region":
        return integration.region_covers(str(expected or ""), str(actual or ""))
    if isinstance(actual, list):
        return expected in actual
    pair = _comparable(actual, expected)
    if pair is not None:
        a, b = pair
        if isinstance(a, str):
            return a.strip().lower() == b.strip().lower()
        return a == b
    return actual == expected


def evaluate(field: str, operator: str, expected: Any, actual: Any) -> bool:
    """Does ``actual`` (the record's value of ``field``) satisfy ``operator expected``?"""
    if operator == "is_empty":
        want = True if expected is None else bool(expected)
        return is_empty(actual) is want
    if operator == "eq":
        return _eq(field, actual, expected)
    if operator == "ne":
        return not _eq(field, actual, expected)
    if operator == "in":
        options = expected if isinstance(expected, list) else [expected]
        return any(_eq(field, actual, o) for o in options)
    if operator in ("gte", "lte"):
        if is_empty(actual):
            return False
        pair = _comparable(actual, expected)
        if pair is None:
            return False
        a, b = pair
        return a >= b if operator == "gte" else a <= b
    if operator == "contains":
        if is_empty(actual) or is_empty(expected):
            return False
        if isinstance(actual, list):
            return any(str(expected).lower() == str(x).lower() for x in actual)
        return str(expected).lower() in str(actual).lower()
    return False


def lead_value(lead: Any, field: str) -> Any:
    if field.startswith("custom_fields."):
        return (lead.custom_fields or {}).get(field.split(".", 1)[1])
    if field in ("owner", "owner_unit", "web_form", "matched_customer"):
        return getattr(lead, f"{field}_id")
    if field == "tags":
        pending = getattr(lead, "_pending_tags", None)
        if pending is not None:
            return list(pending)
        return lead.tag_names if lead.pk else []
    return getattr(lead, field, None)


def clean_condition(field: str, operator: str, value: Any) -> tuple[Any, dict[str, list[str]]]:
    """Validate a condition; returns the canonical value (regions as codes) and field errors."""
    errors: dict[str, list[str]] = {}
    if (
        field
        and field not in LEAD_FIELDS
        and not (field.startswith("custom_fields.") and len(field) > len("custom_fields."))
    ):
        errors["field"] = [_("Unknown field “%(field)s”.") % {"field": field}]
    if operator not in OPERATORS:
        errors["operator"] = [_("Choose one of: %(ops)s.") % {"ops": ", ".join(OPERATORS)}]
        return value, errors
    if operator == "in" and not isinstance(value, list):
        errors["value"] = [_("Expected a list of values.")]
    elif operator in ("gte", "lte") and _number(value) is None and not isinstance(value, str):
        errors["value"] = [_("Expected a number or a date.")]
    elif operator in ("eq", "ne", "contains") and value is None:
        errors["value"] = [_("This field is required.")]
    if field == "region" and not errors:
        try:
            if isinstance(value, list):
                value = [integration.resolve_region(v) for v in value]
            elif value not in (None, "") and operator != "is_empty":
                value = integration.resolve_region(value)
        except ValueError as exc:
            errors["value"] = [_("Unknown region “%(value)s”.") % {"value": exc}]
    return value, errors
