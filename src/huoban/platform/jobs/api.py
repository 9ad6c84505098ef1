from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from huoban.platform.access.scoping import grants_for

from .models import Job


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "title",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "attempts",
            "actor_name",
            "created_at",
            "started_at",
            "finished_at",
        ]


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Background jobs of the caller (administrators see every job); poll `GET /api/v1/jobs/{id}/`."""

    serializer_class = JobSerializer
    queryset = Job.objects.none()
    default_ordering = ("-created_at",)
    ordering_fields = ("created_at",)

    def get_queryset(self) -> Any:
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return Job.objects.none()
        qs = Job.objects.all()
        if not grants_for(user).is_admin:
            qs = qs.filter(actor_id=user.pk)
        status = self.request.query_params.get("status")
        if status:
            qs = qs.filter(status=status)
        return qs


routes = [("jobs", JobViewSet, "job")]
