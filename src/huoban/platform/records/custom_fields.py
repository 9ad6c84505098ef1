"""Custom field values: validation by type on every write, defaults, OpenAPI description."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from huoban.platform.errors import ValidationError

from .contact_points import normalize_email, normalize_phone
from .models import CustomField, CustomFieldType


def definitions(object_type: str, *, active_only: bool = True) -> list[CustomField]:
    qs = CustomField.objects.filter(object_type=object_type)
    if active_only:
        qs = qs.filter(active=True)
    return list(qs.order_by("order", "id"))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def coerce_value(field: CustomField, value: Any) -> Any:
    """Return the canonical JSON value for ``value`` or raise ValueError with a user message."""
    t = field.type
    if _is_empty(value):
        return [] if t == CustomFieldType.MULTI_SELECT else None
    if t in (CustomFieldType.TEXT, CustomFieldType.LONG_TEXT):
        if not isinstance(value, str | int | float | Decimal):
            raise ValueError(_("Enter text."))
        text = str(value)
        limit = 255 if t == CustomFieldType.TEXT else 20000
        if len(text) > limit:
            raise ValueError(_("At most %(n)d characters.") % {"n": limit})
        return text
    if t == CustomFieldType.INTEGER:
        if isinstance(value, bool):
            raise ValueError(_("Enter a whole number."))
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError(_("Enter a whole number."))
    if t == CustomFieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError(_("Enter a number."))
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValueError(_("Enter a number."))
        if not d.is_finite():
            raise ValueError(_("Enter a number."))
        return str(d)
    if t == CustomFieldType.DATE:
        parsed = value if isinstance(value, dt.date) else parse_date(str(value))
        if parsed is None:
            raise ValueError(_("Enter a date as YYYY-MM-DD."))
        return parsed.isoformat()
    if t == CustomFieldType.DATETIME:
        parsed_dt = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
        if parsed_dt is None:
            raise ValueError(_("Enter a date and time in ISO 8601 format."))
        if timezone.is_naive(parsed_dt):
            parsed_dt = timezone.make_aware(parsed_dt)
        return parsed_dt.isoformat()
    if t == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in {"true", "1", "yes", "y", "是", "on"}:
            return True
        if s in {"false", "0", "no", "n", "否", "off"}:
            return False
        raise ValueError(_("Enter true or false."))
    if t == CustomFieldType.SINGLE_SELECT:
        allowed = field.option_values()
        if str(value) not in allowed:
            raise ValueError(_("“%(v)s” is not one of the options.") % {"v": value})
        return str(value)
    if t == CustomFieldType.MULTI_SELECT:
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
        allowed = field.option_values()
        bad = [str(v) for v in items if str(v) not in allowed]
        if bad:
            raise ValueError(_("Not among the options: %(v)s.") % {"v": ", ".join(bad)})
        return [str(v) for v in items]
    if t == CustomFieldType.EMAIL:
        return normalize_email(value)  # ValueError carries the user message
    if t == CustomFieldType.PHONE:
        return normalize_phone(value)
    if t == CustomFieldType.URL:
        s = str(value).strip()
        try:
            URLValidator()(s)
        except Exception:
            raise ValueError(_("Enter a valid URL."))
        return s
    if t == CustomFieldType.USER:
        try:
            pk = int(value)
        except (TypeError, ValueError):
            raise ValueError(_("Enter a user id."))
        if not get_user_model().objects.filter(pk=pk, is_active=True).exists():
            raise ValueError(_("No active user with id %(id)s.") % {"id": pk})
        return pk
    raise ValueError(_("Unknown field type."))


def validate_custom_fields(
    object_type: str,
    values: dict[str, Any] | None,
    *,
    existing: dict[str, Any] | None = None,
    creating: bool = False,
    defs: list[CustomField] | None = None,
) -> dict[str, Any]:
    """Merge ``values`` into ``existing`` and validate everything; raise field-level errors.

    Unknown keys are refused (never silently dropped). On create, defaults fill missing keys.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": [_("Expected an object of key/value pairs.")]})
    defs = defs if defs is not None else definitions(object_type)
    by_key = {d.key: d for d in defs}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for key, raw in values.items():
        field = by_key.get(key)
        if field is None:
            errors[key] = [_("Unknown custom field “%(key)s”.") % {"key": key}]
            continue
        try:
            result[key] = coerce_value(field, raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
    for field in defs:
        if creating and field.key not in values and field.default is not None:
            try:
                result[field.key] = coerce_value(field, field.default)
            except ValueError:
                pass
        if field.required and _is_empty(result.get(field.key)) and field.key not in errors:
            errors[field.key] = [_("“%(label)s” is required.") % {"label": field.display_label()}]
    if errors:
        raise ValidationError({"custom_fields": errors})
    return result


OPENAPI_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string", "maxLength": 255},
    "long_text": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "string", "format": "decimal"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "boolean": {"type": "boolean"},
    "single_select": {"type": "string"},
    "multi_select": {"type": "array", "items": {"type": "string"}},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "description": "E.164"},
    "url": {"type": "string", "format": "uri"},
    "user": {"type": "integer", "description": "user id"},
}


def openapi_schema(object_type: str) -> dict[str, Any]:
    """JSON schema of the custom_fields object of ``object_type`` from the current definitions."""
    props: dict[str, Any] = {}
    try:
        defs = definitions(object_type)
    except Exception:  # schema generated without a database (e.g. at build time)
        defs = []
    for d in defs:
        schema = dict(OPENAPI_TYPES.get(d.type, {"type": "string"}))
        if d.type in ("single_select",):
            schema["enum"] = d.option_values()
        if d.type == "multi_select":
            schema["items"] = {"type": "string", "enum": d.option_values()}
        schema["title"] = d.label
        if d.help_text:
            schema["description"] = d.help_text
        schema["nullable"] = True
        props[d.key] = schema
    return {
        "type": "object",
        "description": "Custom field values by key; validated against /api/v1/custom-fields/ definitions.",
        "properties": props,
        "additionalProperties": False,
    }
