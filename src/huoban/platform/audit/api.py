from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
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
        OpenApiParameter("since", str, description="ISO date or datetime"),
        OpenApiParameter("until", str),
    ]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Append-only audit trail (administrators). There is no way to change or delete an event."""

    admin_object_type = "audit_event"
    permission_classes = [IsAdministrator]
    serializer_class = AuditEventSerializer
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
        for key, lookup in (("since", "at__gte"), ("until", "at__lte")):
            if p.get(key):
                value = parse_datetime(p[key]) or parse_date(p[key])
                if value is None:
                    raise ValidationError({key: ["Expected an ISO date or datetime."]})
                qs = qs.filter(**{lookup: value})
        return qs


routes = [("audit-events", AuditEventViewSet, "audit-event")]
