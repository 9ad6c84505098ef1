"""DRF base classes for business records: one serializer base and one viewset base.

A domain app writes::

    class CustomerSerializer(RecordSerializer):
        class Meta(RecordSerializer.Meta):
            model = Customer
            fields = RecordSerializer.Meta.fields + ["name", ...]

    class CustomerViewSet(RecordViewSet):
        record_model = Customer
        serializer_class = CustomerSerializer
        def perform_service_create(self, data, custom_fields, tags): return customer_create(...)
        def perform_service_update(self, obj, data, custom_fields, tags, version): return customer_update(...)

and gets: scoped list/detail (404 outside scope), function-permission checks (403), capped
pagination and cursor, `q`/ordering/tags/custom-field filters, If-Match / version → 409,
Idempotency-Key replay on POST, soft delete, `restore/`, `history/`, `transfer/`, masking of
sensitive fields.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from huoban.platform.access.scoping import get_scoped_or_404, has_perm, scoped
from huoban.platform.audit.models import AuditEvent
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.records.encryption import mask
from huoban.platform.records.models import BaseRecord
from huoban.platform.records.services import record_delete, record_restore, record_transfer

from .models import IdempotencyKey

# --- serializers -------------------------------------------------------------------------------


class UserRefField(serializers.PrimaryKeyRelatedField):
    """A user by id in input; {id, username, name} in output."""

    def use_pk_only_optimization(self) -> bool:
        return False

    def to_representation(self, value: Any) -> Any:
        return {"id": value.pk, "username": value.username, "name": str(value)}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Custom field values by key (definitions at /api/v1/custom-fields/).",
    }
)
class CustomFieldsField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("Expected an object of key/value pairs."))
        return data


class RecordSerializer(serializers.ModelSerializer):
    owner = UserRefField(read_only=True)
    owner_unit = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = UserRefField(read_only=True)
    updated_by = UserRefField(read_only=True)
    version = serializers.IntegerField(required=False, help_text="Send the version you read; stale → 409.")
    custom_fields = CustomFieldsField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)

    class Meta:
        model: type[BaseRecord] = BaseRecord
        fields = [
            "id",
            "owner",
            "owner_unit",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
            "version",
            "custom_fields",
            "tags",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["tags"] = instance.tag_names
        data["version"] = instance.version
        request = self.context.get("request")
        sensitive = getattr(instance, "sensitive_fields", ())
        if (
            sensitive
            and request is not None
            and not has_perm(request.user, instance.object_type, "view_sensitive")
        ):
            for f in sensitive:
                if f in data and data[f]:
                    data[f] = mask(str(data[f]), "email" if "email" in f else "default")
        return data


class TransferSerializer(serializers.Serializer):
    owner = serializers.IntegerField(help_text="User id of the new owner.")
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="For the bulk endpoint: record ids."
    )
    reason = serializers.CharField(required=False, allow_blank=True)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "data",
            "ip",
            "user_agent",
            "request_id",
            "hash",
            "prev_hash",
        ]


# --- permissions -------------------------------------------------------------------------------

ACTION_MAP = {
    "list": "view",
    "retrieve": "view",
    "history": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
    "restore": "delete",
    "recycle_bin": "delete",
    "transfer": "assign",
    "bulk_transfer": "assign",
}


class RecordPermission(permissions.BasePermission):
    """Function permission per object type and action; the data scope is the queryset's job."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = view.required_action()
        if needed is None:
            return True
        if not has_perm(request.user, view.record_model.object_type, needed):
            raise PermissionDeniedError()
        return True


# --- viewset -----------------------------------------------------------------------------------


class IdempotentCreateMixin:
    """`Idempotency-Key` on POST: a retried request returns the first response, creates nothing."""

    def dispatch_idempotent(self, request: Request, handler: Any, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()[:120]
        if not key or not request.user.is_authenticated:
            return handler(request, *args, **kwargs)
        prior = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if prior is not None:
            if prior.path != request.path or prior.method != request.method:
                return Response(
                    {
                        "detail": _("This Idempotency-Key was used for another request."),
                        "code": "idempotency_key_reused",
                    },
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            resp = Response(prior.body, status=prior.status_code)
            resp["Idempotent-Replayed"] = "true"
            return resp
        response = handler(request, *args, **kwargs)
        if response.status_code < 500:
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        user=request.user,
                        key=key,
                        method=request.method,
                        path=request.path,
                        status_code=response.status_code,
                        body=response.data,
                    )
            except IntegrityError:
                pass
        return response


class RecordViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    record_model: type[BaseRecord] = BaseRecord
    permission_classes = [RecordPermission]
    search_fields: tuple[str, ...] = ()
    ordering_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
    default_ordering: tuple[str, ...] = ("-id",)
    select_related: tuple[str, ...] = ("owner", "created_by", "updated_by")
    prefetch_related: tuple[str, ...] = ("tagged_items__tag",)
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    # --- hooks for domain apps ---
    def perform_service_create(
        self, data: dict[str, Any], custom_fields: dict | None, tags: list | None
    ) -> Any:
        raise NotImplementedError

    def perform_service_update(
        self,
        obj: Any,
        data: dict[str, Any],
        custom_fields: dict | None,
        tags: list | None,
        version: int | None,
    ) -> Any:
        raise NotImplementedError

    def perform_service_delete(self, obj: Any, version: int | None) -> Any:
        return record_delete(actor=self.request.user, obj=obj, version=version)

    # --- plumbing ---
    def required_action(self) -> str | None:
        return ACTION_MAP.get(
            self.action or "", getattr(self, "extra_action_permission", {}).get(self.action, "view")
        )

    def scope_action(self) -> str:
        needed = self.required_action() or "view"
        return "view" if needed in ("view", "add") else needed

    def get_queryset(self) -> Any:
        include_deleted = self.action in ("restore",)
        only_deleted = self.action == "recycle_bin"
        qs = scoped(
            self.request.user,
            self.record_model,
            self.scope_action(),
            include_deleted=include_deleted,
            only_deleted=only_deleted,
        )
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if self.prefetch_related:
            qs = qs.prefetch_related(*self.prefetch_related)
        return self.filter_base_queryset(qs)

    def filter_base_queryset(self, qs: Any) -> Any:
        return qs

    def get_object(self) -> Any:
        qs = self.get_queryset()
        obj = get_scoped_or_404(
            self.request.user,
            qs,
            self.kwargs["pk"],
            self.scope_action(),
            include_deleted=self.action == "restore",
        )
        return obj

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.dispatch_idempotent(request, self._create)

    def _create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        custom_fields = data.pop("custom_fields", None)
        tags = data.pop("tags", None)
        obj = self.perform_service_create(data, custom_fields, tags)
        obj = self.get_queryset().filter(pk=obj.pk).first() or obj
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def _expected_version(self, request: Request) -> int | None:
        header = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/").strip('"')
        raw = header or request.data.get("version") if hasattr(request.data, "get") else header
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValidationError({"version": [_("Expected an integer version.")]})

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        custom_fields = data.pop("custom_fields", None)
        tags = data.pop("tags", None)
        obj = self.perform_service_update(obj, data, custom_fields, tags, self._expected_version(request))
        obj = self.get_queryset().filter(pk=obj.pk).first() or obj
        response = Response(self.get_serializer(obj).data)
        response["ETag"] = f'"{obj.version}"'
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = f'"{response.data.get("version")}"'
        return response

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        self.perform_service_delete(obj, self._expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, description="Restore a soft-deleted record (within 90 days).")
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        obj = get_scoped_or_404(request.user, self.record_model, pk, "delete", only_deleted=True)
        obj = record_restore(actor=request.user, obj=obj)
        obj = self.get_queryset().filter(pk=obj.pk).first() or obj
        return Response(self.get_serializer(obj).data)

    @extend_schema(description="Soft-deleted records the user may restore (recycle bin).")
    @action(detail=False, methods=["get"], url_path="deleted")
    def recycle_bin(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        responses=AuditEventSerializer(many=True),
        parameters=[OpenApiParameter("page", OpenApiTypes.INT)],
        description="Audit events of this record, newest first, with field-level diffs.",
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        events = AuditEvent.objects.filter(object_type=obj.object_type, object_id=str(obj.pk)).order_by(
            "-seq"
        )
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)

    @extend_schema(
        request=TransferSerializer,
        responses={200: OpenApiTypes.OBJECT},
        description="Transfer ownership of this record to another user.",
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        s = TransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        new_owner = _active_user(s.validated_data["owner"])
        n = record_transfer(
            actor=request.user, objs=[obj], new_owner=new_owner, reason=s.validated_data.get("reason", "")
        )
        return Response({"transferred": n})

    @extend_schema(
        request=TransferSerializer,
        responses={200: OpenApiTypes.OBJECT},
        description='Bulk transfer: {"ids": [...], "owner": user_id}.',
    )
    @action(detail=False, methods=["post"], url_path="transfer")
    def bulk_transfer(self, request: Request) -> Response:
        s = TransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        ids = s.validated_data.get("ids") or []
        if not ids:
            raise ValidationError({"ids": [_("Choose at least one record.")]})
        objs = list(scoped(request.user, self.record_model, "assign").filter(pk__in=ids))
        missing = sorted(set(ids) - {o.pk for o in objs})
        if missing:
            raise ValidationError({"ids": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]})
        new_owner = _active_user(s.validated_data["owner"])
        n = record_transfer(
            actor=request.user, objs=objs, new_owner=new_owner, reason=s.validated_data.get("reason", "")
        )
        return Response({"transferred": n})


def _active_user(pk: int) -> Any:
    from huoban.platform.identity.models import User

    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({"owner": [_("Choose an active user.")]})
    return user
