"""REST API: /api/v1/tasks/."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from huoban.customers.api import RawWriteMixin, visible_ref
from huoban.customers.models import Contact, Customer
from huoban.platform.api.records import RecordSerializer, RecordViewSet, UserRefField
from huoban.platform.errors import ValidationError

from .models import Task
from .services import task_complete, task_create, task_reopen, task_update


class TaskSerializer(RecordSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    contact = serializers.PrimaryKeyRelatedField(read_only=True)
    follow_up = serializers.PrimaryKeyRelatedField(read_only=True)
    owner = UserRefField(read_only=True, help_text="The assignee; send a user id to assign.")

    class Meta(RecordSerializer.Meta):
        model = Task
        fields = [
            *RecordSerializer.Meta.fields,
            "title",
            "description",
            "due_at",
            "status",
            "priority",
            "customer",
            "contact",
            "follow_up",
            "completed_at",
        ]
        read_only_fields = [*RecordSerializer.Meta.read_only_fields, "status", "completed_at"]


class TaskViewSet(RawWriteMixin, RecordViewSet):
    """Tasks and reminders. ``complete/`` and ``reopen/`` change the status."""

    record_model = Task
    serializer_class = TaskSerializer
    search_fields = Task.search_fields
    ordering_fields = ("id", "due_at", "created_at", "priority")
    filterset_fields = {
        "status": ["exact"],
        "priority": ["exact", "in"],
        "owner": ["exact"],
        "due_at": ["gte", "lte", "isnull"],
    }

    def filter_base_queryset(self, qs: Any) -> Any:
        # related-record filters by id (a model-choice filter would read customers unscoped)
        for key in ("customer", "contact", "follow_up"):
            value = self.request.query_params.get(key)
            if value and value.isdigit():
                qs = qs.filter(**{f"{key}_id": int(value)})
        return qs

    writable = ("title", "description", "due_at", "priority", "customer", "contact", "assignee")
    read_only = (*RawWriteMixin.read_only, "status", "completed_at", "follow_up")
    extra_action_permission = {"complete": "change", "reopen": "change"}

    def _relations(self, data: dict[str, Any]) -> dict[str, Any]:
        for key, model in (("customer", Customer), ("contact", Contact)):
            if key in data:
                data[key] = visible_ref(self.request.user, model, key, data[key])
        if "assignee" in data:
            from huoban.platform.api.records import _active_user

            raw = data.pop("assignee")
            if not str(raw).isdigit():
                raise ValidationError({"assignee": [_("Choose an active user.")]})
            data["owner"] = _active_user(int(raw))
        return data

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Task:
        return task_create(
            actor=self.request.user, data=self._relations(data), custom_fields=custom_fields, tags=tags
        )

    def perform_service_update(
        self, obj: Task, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Task:
        return task_update(
            actor=self.request.user,
            task=obj,
            data=self._relations(data),
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )

    @extend_schema(request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: Any = None) -> Response:
        obj = task_complete(
            actor=request.user, task=self.get_object(), version=self._expected_version(request)
        )
        return Response(self.get_serializer(self._reload(obj)).data)

    @extend_schema(request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: Any = None) -> Response:
        obj = task_reopen(actor=request.user, task=self.get_object(), version=self._expected_version(request))
        return Response(self.get_serializer(self._reload(obj)).data)


routes = [("tasks", TaskViewSet, "task")]
