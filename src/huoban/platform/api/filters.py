"""Shared list filtering for the API (and UI): free text, ordering, tags, custom fields.

Field filters (``?kind=company``) come from django-filter (``filterset_fields`` on the view);
the backends here add ``?q=``, ``?tags=a,b``, ``?cf_<key>=`` (with ``__gte``, ``__lte``, ``__gt``,
``__lt``, ``__in``, ``__contains``, ``__isnull``) and ``?ordering=``. They work on SQLite and
PostgreSQL: numbers and dates are compared after a cast, not as JSON text.
"""

from __future__ import annotations

import json
import re
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField, DecimalField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.filters import BaseFilterBackend

CF_PARAM = re.compile(r"^cf_([a-z0-9_]+?)(?:__(gte|lte|gt|lt|in|contains|isnull))?$")
NUMERIC = ("integer", "decimal")
CAST_FIELDS: dict[str, Any] = {
    "integer": lambda: DecimalField(max_digits=38, decimal_places=10),
    "decimal": lambda: DecimalField(max_digits=38, decimal_places=10),
    "date": DateField,
    "datetime": DateTimeField,
}


def is_list_action(view: Any) -> bool:
    return getattr(view, "action", None) in (None, *getattr(view, "list_actions", ("list",)))


def text_search(qs: QuerySet, fields: tuple[str, ...] | list[str], term: str) -> QuerySet:
    term = (term or "").strip()
    if not term or not fields:
        return qs
    for word in term.split()[:5]:
        qs = qs.filter(reduce(or_, (Q(**{f"{f}__icontains": word}) for f in fields)))
    return qs


def _coerce(field: Any, raw: Any, param: str) -> Any:
    from huoban.platform.records.custom_fields import coerce_value

    try:
        value = coerce_value(field, raw)
    except ValueError as exc:
        raise DRFValidationError({param: [str(exc)]})
    if field.type == "decimal" and value is not None:
        from decimal import Decimal

        return Decimal(value)
    if field.type == "date" and value is not None:
        import datetime as dt

        return dt.date.fromisoformat(value)
    if field.type == "datetime" and value is not None:
        import datetime as dt

        return dt.datetime.fromisoformat(value)
    return value


def _multi_has(path: str, value: str) -> Q:
    """A multi-select (JSON list) value contains ``value``."""
    if connection.vendor == "postgresql":
        return Q(**{f"{path}__contains": [value]})
    # No JSON containment elsewhere: match the quoted element in the list's JSON text
    # (stored either with \u escapes or as UTF-8, depending on who wrote it).
    return Q(**{f"{path}__icontains": json.dumps(value)}) | Q(
        **{f"{path}__icontains": json.dumps(value, ensure_ascii=False)}
    )


def custom_field_filters(qs: QuerySet, params: Any, object_type: str) -> QuerySet:
    """Apply every ``cf_<key>[__op]`` query parameter; unknown keys or bad values → 400."""
    from huoban.platform.records.custom_fields import definitions

    defs = None
    for name in params:
        m = CF_PARAM.match(name)
        if not m:
            if name.startswith("cf_"):
                raise DRFValidationError({name: [_("Unknown custom field filter.")]})
            continue
        if defs is None:
            defs = {d.key: d for d in definitions(object_type, active_only=False)}
        key, op = m.group(1), m.group(2) or "exact"
        field = defs.get(key)
        if field is None:
            raise DRFValidationError({name: [_("Unknown custom field “%(key)s”.") % {"key": key}]})
        raw = params.get(name)
        path = f"custom_fields__{key}"
        if op == "isnull":
            cond = Q(**{f"{path}__isnull": True}) | Q(**{path: None})
            if field.type == "multi_select":
                cond |= Q(**{path: []})
            truthy = str(raw).strip().lower() in ("1", "true", "yes")
            qs = qs.filter(cond) if truthy else qs.exclude(cond)
            continue
        if field.type == "multi_select":
            values = [v.strip() for v in str(raw).split(",") if v.strip()]
            for v in values:
                _coerce(field, [v], name)  # must be one of the options
            if not values:
                continue
            if op == "in":  # any of
                qs = qs.filter(reduce(or_, (_multi_has(path, v) for v in values)))
            else:  # exact / contains: all of
                for v in values:
                    qs = qs.filter(_multi_has(path, v))
            continue
        if op == "contains":
            qs = qs.filter(**{f"{path}__icontains": str(raw)})
            continue
        if op == "in":
            values = [_coerce(field, v, name) for v in str(raw).split(",") if v.strip() != ""]
        else:
            value = _coerce(field, raw, name)
        if field.type in CAST_FIELDS:
            alias = f"_cf_{key}"
            qs = qs.annotate(
                **{alias: Cast(KeyTextTransform(key, "custom_fields"), CAST_FIELDS[field.type]())}
            )
            lookup = alias if op == "exact" else f"{alias}__{op}"
        else:
            lookup = path if op == "exact" else f"{path}__{op}"
        qs = qs.filter(**{lookup: values if op == "in" else value})
    return qs


def tag_filter(qs: QuerySet, tags: str) -> QuerySet:
    from django.contrib.contenttypes.models import ContentType

    from huoban.platform.records.models import TaggedItem

    ct = ContentType.objects.get_for_model(qs.model)
    for t in [t.strip() for t in tags.split(",") if t.strip()]:
        qs = qs.filter(pk__in=TaggedItem.objects.filter(content_type=ct, tag__name=t).values("object_id"))
    return qs


class SearchFilter(BaseFilterBackend):
    """`?q=` free text over the view's `search_fields`; then `?tags=`, `?cf_<key>=` filters."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        if not is_list_action(view):
            return queryset
        searcher = getattr(view, "search", None)
        term = request.query_params.get("q", "")
        if term:
            if searcher is not None:
                queryset = searcher(queryset, term)
            else:
                queryset = text_search(queryset, getattr(view, "search_fields", ()), term)
        tags = request.query_params.get("tags")
        if tags and hasattr(queryset.model, "tagged_items"):
            queryset = tag_filter(queryset, tags)
        object_type = getattr(queryset.model, "object_type", "")
        if object_type and isinstance(object_type, str):
            queryset = custom_field_filters(queryset, request.query_params, object_type)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = [
            {
                "name": "q",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Free-text search.",
            },
        ]
        model = getattr(view, "record_model", None)
        object_type = getattr(model, "object_type", "")
        if not object_type or not isinstance(object_type, str):
            return params
        params.append(
            {
                "name": "tags",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Comma-separated tags; all must match.",
            }
        )
        from huoban.platform.records.custom_fields import OPENAPI_TYPES, definitions

        try:
            defs = definitions(object_type)
        except Exception:  # schema generated without a database
            defs = []
        for d in defs:
            schema = {"type": "string"} if d.type == "multi_select" else dict(OPENAPI_TYPES.get(d.type, {}))
            schema.pop("maxLength", None)
            ops = "__isnull"
            if d.type in (*NUMERIC, "date", "datetime"):
                ops = "__gte, __lte, __gt, __lt, __in (comma-separated), __isnull"
            elif d.type in ("single_select", "text", "email", "phone", "url", "user"):
                ops = "__in (comma-separated), __contains, __isnull"
            elif d.type == "multi_select":
                ops = "(all of, comma-separated), __in (any of), __isnull"
            params.append(
                {
                    "name": f"cf_{d.key}",
                    "required": False,
                    "in": "query",
                    "schema": schema or {"type": "string"},
                    "description": f"Custom field “{d.label}” ({d.type}). Suffixes: {ops}.",
                }
            )
        return params


class OrderingFilter(BaseFilterBackend):
    """`?ordering=-created_at,name` restricted to the view's `ordering_fields`; ties broken by -id."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        if not is_list_action(view):
            return queryset
        raw = request.query_params.get("ordering", "")
        allowed = set(getattr(view, "ordering_fields", ()) or ())
        fields = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            name = part.lstrip("-")
            if name not in allowed:
                raise DRFValidationError(
                    {
                        "ordering": [
                            _("Cannot order by “%(name)s”. Allowed: %(allowed)s.")
                            % {"name": name, "allowed": ", ".join(sorted(allowed))}
                        ]
                    }
                )
            fields.append(part)
        if not fields:
            fields = list(getattr(view, "default_ordering", ("-id",)))
        if not any(f.lstrip("-") in ("id", "pk") for f in fields):
            fields.append("-id")
        return queryset.order_by(*fields)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = sorted(getattr(view, "ordering_fields", ()) or ())
        return [
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Comma-separated; prefix - for descending. Allowed: " + ", ".join(allowed),
            }
        ]
