"""Shared list filtering for the API (and UI): free text, ordering, tags, custom fields."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.filters import BaseFilterBackend

CF_PARAM = re.compile(r"^cf_([a-z0-9_-]+?)(?:__(gte|lte|gt|lt|in|contains|isnull))?$")


def text_search(qs: QuerySet, fields: tuple[str, ...] | list[str], term: str) -> QuerySet:
    term = (term or "").strip()
    if not term or not fields:
        return qs
    for word in term.split()[:5]:
        qs = qs.filter(reduce(or_, (Q(**{f"{f}__icontains": word}) for f in fields)))
    return qs


def custom_field_filters(qs: QuerySet, params: Any, object_type: str) -> QuerySet:
    from huoban.platform.records.custom_fields import coerce_value, definitions

    defs = None
    for name in params:
        m = CF_PARAM.match(name)
        if not m:
            continue
        if defs is None:
            defs = {d.key: d for d in definitions(object_type, active_only=False)}
        key, op = m.group(1), m.group(2)
        field = defs.get(key)
        if field is None:
            raise DRFValidationError({name: [f"Unknown custom field “{key}”."]})
        raw = params.get(name)
        path = f"custom_fields__{key}"
        if op == "isnull":
            truthy = str(raw).lower() in ("1", "true", "yes")
            cond = Q(**{f"{path}__isnull": True}) | Q(**{path: None})
            qs = qs.filter(cond) if truthy else qs.exclude(cond)
            continue
        try:
            if op == "in":
                values = [coerce_value(field, v) for v in str(raw).split(",") if v != ""]
                qs = qs.filter(**{f"{path}__in": values})
                continue
            if op == "contains" or field.type == "multi_select":
                qs = qs.filter(**{f"{path}__icontains": str(raw)})
                continue
            value = coerce_value(field, raw)
        except ValueError as exc:
            raise DRFValidationError({name: [str(exc)]})
        if field.type in ("integer", "decimal") and op:
            # numbers: compare numerically; decimals are stored as strings, integers as numbers
            from django.db.models import DecimalField
            from django.db.models.fields.json import KeyTextTransform
            from django.db.models.functions import Cast

            alias = f"_cf_{key}"
            qs = qs.annotate(
                **{
                    alias: Cast(
                        KeyTextTransform(key, "custom_fields"), DecimalField(max_digits=30, decimal_places=8)
                    )
                }
            )
            qs = qs.filter(**{f"{alias}__{op}": value})
        elif op:
            qs = qs.filter(**{f"{path}__{op}": value})
        else:
            qs = qs.filter(**{path: value})
    return qs


class SearchFilter(BaseFilterBackend):
    """`?q=` free text over the view's `search_fields`; then `?tags=`, `?cf_<key>=` filters."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) not in (None, "list"):
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
            for t in [t.strip() for t in tags.split(",") if t.strip()]:
                queryset = queryset.filter(tagged_items__tag__name=t)
            queryset = queryset.distinct()
        object_type = getattr(queryset.model, "object_type", "")
        if object_type:
            queryset = custom_field_filters(queryset, request.query_params, object_type)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = [
            {
                "name": "q",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Free-text search.",
            },
        ]
        if hasattr(getattr(view, "queryset", None), "model") or getattr(view, "record_model", None):
            params.append(
                {
                    "name": "tags",
                    "required": False,
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Comma-separated tags; all must match.",
                }
            )
            params.append(
                {
                    "name": "cf_<key>",
                    "required": False,
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Custom field filter; suffixes __gte, __lte, __gt, __lt, __in, "
                    "__contains, __isnull.",
                }
            )
        return params


class OrderingFilter(BaseFilterBackend):
    """`?ordering=-created_at,name` restricted to the view's `ordering_fields`; ties broken by -id."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) not in (None, "list"):
            return queryset
        raw = request.query_params.get("ordering", "")
        allowed = set(getattr(view, "ordering_fields", ()) or ())
        fields = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            name = part.lstrip("-")
            if name not in allowed:
                raise DRFValidationError(
                    {"ordering": [f"Cannot order by “{name}”. Allowed: {', '.join(sorted(allowed))}."]}
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
