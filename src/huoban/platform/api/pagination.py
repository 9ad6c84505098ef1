"""Page-number pagination with a capped exact count, plus keyset (cursor) pagination.

`?page=&page_size=` (max 500) → {"count", "count_capped", "next", "previous", "results"}.
Counting stops at API_COUNT_CAP (default 10,000): beyond it `count` is the cap and `count_capped`
is true — an exact count over a million rows costs more than the page itself.

`?cursor=` (empty to start) switches to keyset pagination on the primary key, newest first, for
deep paging and sync clients: same keys, `count` is null (nothing is counted), `next`/`previous`
carry opaque cursors. Rows inserted while a client walks never cause duplicates or gaps among the
rows that existed when it started. Cursor pages are always ordered by -id (`?ordering=` other
than -id is refused with 400).
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


def capped_count(qs: QuerySet, cap: int) -> tuple[int, bool]:
    n = qs.order_by()[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception:
        data = None
    if not isinstance(data, dict) or not any(isinstance(data.get(k), int) for k in ("lt", "gt")):
        raise DRFValidationError({"cursor": [_("Invalid cursor.")]})
    return data


class CappedPagination(BasePagination):
    page_size = 50
    max_page_size = 500
    page_query_param = "page"
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def get_page_size(self, request: Any) -> int:
        try:
            size = int(request.query_params.get(self.page_size_query_param, self.page_size))
        except ValueError:
            size = self.page_size
        return max(1, min(size, self.max_page_size))

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size_value = self.get_page_size(request)
        self.mode = "cursor" if self.cursor_query_param in request.query_params else "page"
        if self.mode == "cursor":
            return self._paginate_cursor(queryset, request)
        try:
            self.page_number = int(request.query_params.get(self.page_query_param, 1))
        except ValueError:
            raise NotFound(_("Invalid page."))
        if self.page_number < 1:
            raise NotFound(_("Invalid page."))
        cap = getattr(settings, "API_COUNT_CAP", 10000)
        offset = (self.page_number - 1) * self.page_size_value
        rows = list(queryset[offset : offset + self.page_size_value + 1])
        self.has_next = len(rows) > self.page_size_value
        rows = rows[: self.page_size_value]
        if self.page_number == 1 and not self.has_next:
            self.count, self.count_capped = len(rows), False
        else:
            self.count, self.count_capped = capped_count(queryset, cap)
        if not rows and self.page_number > 1:
            raise NotFound(_("Invalid page."))
        return rows

    def _paginate_cursor(self, queryset: Any, request: Any) -> list[Any]:
        ordering = request.query_params.get("ordering", "").strip()
        if ordering not in ("", "-id", "-pk"):
            raise DRFValidationError({"ordering": [_("Cursor pages are always ordered by -id.")]})
        token = request.query_params.get(self.cursor_query_param) or ""
        size = self.page_size_value
        self.next_cursor: str | None = None
        self.previous_cursor: str | None = None
        data = _decode(token) if token else {}
        if isinstance(data.get("gt"), int):
            # walking back: the page just above ``gt`` in -id order
            rows = list(queryset.order_by("pk").filter(pk__gt=data["gt"])[: size + 1])
            more_before = len(rows) > size
            rows = list(reversed(rows[:size]))
            if rows:
                self.next_cursor = _encode({"lt": rows[-1].pk})
                if more_before:
                    self.previous_cursor = _encode({"gt": rows[0].pk})
            return rows
        qs = queryset.order_by("-pk")
        if isinstance(data.get("lt"), int):
            qs = qs.filter(pk__lt=data["lt"])
        rows = list(qs[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        if rows and has_next:
            self.next_cursor = _encode({"lt": rows[-1].pk})
        if rows and token:
            self.previous_cursor = _encode({"gt": rows[0].pk})
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        if self.mode == "cursor":

            def link(cursor: str | None) -> str | None:
                return replace_query_param(url, self.cursor_query_param, cursor) if cursor else None

            return Response(
                OrderedDict(
                    [
                        ("count", None),
                        ("count_capped", False),
                        ("next", link(self.next_cursor)),
                        ("previous", link(self.previous_cursor)),
                        ("results", data),
                    ]
                )
            )
        nxt = replace_query_param(url, self.page_query_param, self.page_number + 1) if self.has_next else None
        if self.page_number > 2:
            prev = replace_query_param(url, self.page_query_param, self.page_number - 1)
        elif self.page_number == 2:
            prev = remove_query_param(url, self.page_query_param)
        else:
            prev = None
        return Response(
            OrderedDict(
                [
                    ("count", self.count),
                    ("count_capped", self.count_capped),
                    ("next", nxt),
                    ("previous", prev),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "count_capped", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": "Exact up to the cap (see count_capped); null on cursor pages.",
                },
                "count_capped": {
                    "type": "boolean",
                    "description": "True when there are more rows than the count cap.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": "page", "required": False, "in": "query", "schema": {"type": "integer"}},
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "maximum": 500},
            },
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Keyset pagination (ordered by -id); pass an empty value to start, "
                "then follow `next`.",
            },
        ]
