from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from huoban.platform.api.records import AuditEventSerializer
from huoban.platform.identity.api import IsAdministrator

from .models import AuditEvent


@extend_schema(
    parameters=[
        OpenApiParameter("object_type", str),
        OpenApiParameter("object_id", str),
        OpenApiParameter("actor", str, description="username or system:<name>"),
        OpenApiParameter("action", str),
        OpenApiParameter("since", str, description="ISO date or datetime (inclusive)"),
        OpenApiParameter("until", str, description="ISO date (whole day) or datetime (inclusive)"),
        OpenApiParameter("request_id", str),
    ]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Append-only audit trail (administrators). There is no way to change or delete an event."""

    admin_object_type = "audit_event"
    permission_classes = [IsAdministrator]
    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.none()
    lookup_field = "seq"
    ordering_fields = ("seq", "at")
    default_ordering = ("-seq",)

    def get_queryset(self) -> Any:
        qs = AuditEvent.objects.all()
        p = self.request.query_params
        for key in ("object_type", "object_id", "action"):
            if p.get(key):
                qs = qs.filter(**{key: p[key]})
        if p.get("actor"):
            actor = p["actor"]
            qs = qs.filter(actor_id=int(actor)) if actor.isdigit() else qs.filter(actor_name=actor)
        if p.get("request_id"):
            qs = qs.filter(request_id=p["request_id"])
        for key in ("since", "until"):
            if p.get(key):
                qs = qs.filter(**{"at__gte" if key == "since" else "at__lt": _bound(key, p[key])})
        return qs


def _bound(key: str, raw: str) -> dt.datetime:
    """`since` is inclusive, `until` exclusive for datetimes; a bare date covers the whole day
    (in the current time zone)."""
    try:
        value = parse_datetime(raw)
        day = None if value is not None else parse_date(raw)
    except ValueError:
        value = day = None
    if value is not None:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value if key == "since" else value + dt.timedelta(microseconds=1)
    if day is None:
        raise ValidationError({key: [_("Expected an ISO date or datetime.")]})
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start if key == "since" else start + dt.timedelta(days=1)


routes = [("audit-events", AuditEventViewSet, "audit-event")]
