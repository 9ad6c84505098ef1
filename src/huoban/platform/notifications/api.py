from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Notification
from .services import mark_read, unread_count


class NotificationSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "verb", "title", "body", "url", "data", "created_at", "read_at", "read"]

    def get_title(self, obj: Notification) -> str:
        return obj.rendered_title()

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's inbox. `?unread=true` for unread only."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()
    default_ordering = ("-created_at",)
    ordering_fields = ("created_at",)

    def get_queryset(self) -> Any:
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return Notification.objects.none()
        qs = Notification.objects.filter(recipient_id=user.pk)
        if self.request.query_params.get("unread") in ("1", "true"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(
        request=None, responses=inline_serializer("Marked", {"marked": serializers.IntegerField()})
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        return Response({"marked": mark_read(user=request.user, ids=[obj.pk])})

    @extend_schema(
        request=None, responses=inline_serializer("MarkedAll", {"marked": serializers.IntegerField()})
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        return Response({"marked": mark_read(user=request.user)})

    @extend_schema(responses=inline_serializer("Unread", {"unread": serializers.IntegerField()}))
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": unread_count(request.user)})


routes = [("notifications", NotificationViewSet, "notification")]
