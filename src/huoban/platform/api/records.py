"""DRF base classes for business records: one serializer base and one viewset base.

A domain app writes::

    class CustomerSerializer(RecordSerializer):
        class Meta(RecordSerializer.Meta):
            model = Customer
            fields = RecordSerializer.Meta.fields + ["name", ...]

    class CustomerViewSet(RecordViewSet):
        record_model = Customer
        serializer_class = CustomerSerializer
        filterset_fields = {"kind": ["exact"], ...}
        def perform_service_create(self, data, custom_fields, tags): return customer_create(...)
        def perform_service_update(self, obj, data, custom_fields, tags, version): return customer_update(...)

and gets: scoped list/detail (404 outside scope), function-permission checks (403), capped
pagination and cursor, `q`/ordering/tags/custom-field filters, If-Match / version → 409,
Idempotency-Key replay on every POST, soft delete, recycle bin (`deleted/`), `restore/`,
`history/`, `transfer/` (single and bulk), `share/`, `bulk-delete/`, masking of sensitive fields.
See docs/api.md.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.audit.models import AuditEvent
from huoban.platform.audit.services import jsonable
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.identity import stepup
from huoban.platform.records.encryption import mask
from huoban.platform.records.models import BaseRecord
from huoban.platform.records.services import (
    record_delete,
    record_delete_many,
    record_restore,
    record_transfer,
    share_record,
    unshare_record,
)

from .models import IdempotencyKey
from .schema import RecordAutoSchema

# --- serializers -------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "name": {"type": "string"},
        },
    }
)
class UserRefField(serializers.PrimaryKeyRelatedField):
    """A user by id in input; {id, username, name} in output."""

    def use_pk_only_optimization(self) -> bool:
        return False

    def to_representation(self, value: Any) -> Any:
        return {"id": value.pk, "username": value.username, "name": str(value)}


class CustomFieldsField(serializers.JSONField):
    """`{"key": value}`; validated against the definitions by the record services."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("Expected an object of key/value pairs."))
        return data


class RecordSerializer(serializers.ModelSerializer):
    owner = UserRefField(read_only=True)
    owner_unit: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = UserRefField(read_only=True)
    updated_by = UserRefField(read_only=True)
    version = serializers.IntegerField(
        required=False, help_text="Send the version you read (or the If-Match header); stale → 409."
    )
    custom_fields = CustomFieldsField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)

    class Meta:
        model: Any = BaseRecord
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
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class BulkTransferSerializer(TransferSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=1000, help_text="Record ids."
    )


class BulkIdsSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=1000, help_text="Record ids."
    )


class ShareSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False, allow_null=True, help_text="User id to share with.")
    unit = serializers.IntegerField(required=False, allow_null=True, help_text="Org unit id to share with.")
    level = serializers.ChoiceField(choices=["read", "edit"], default="read")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from huoban.platform.identity.models import OrgUnit, User

        user_id, unit_id = attrs.get("user"), attrs.get("unit")
        if (user_id is None) == (unit_id is None):
            raise serializers.ValidationError({"user": [_("Share with either a user or a unit.")]})
        if user_id is not None:
            user = User.objects.filter(pk=user_id, is_active=True).first()
            if user is None:
                raise serializers.ValidationError({"user": [_("Choose an active user.")]})
            attrs["user"] = user
        if unit_id is not None:
            unit = OrgUnit.objects.filter(pk=unit_id).first()
            if unit is None:
                raise serializers.ValidationError({"unit": [_("Choose a unit.")]})
            attrs["unit"] = unit
        return attrs


class ShareOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="user_id", allow_null=True)
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    level = serializers.CharField()
    created_at = serializers.DateTimeField()


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


def expected_version(request: Request) -> int | None:
    """The version a write was based on: the If-Match header, else "version" in the body."""
    raw: Any = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not raw and hasattr(request.data, "get"):
        raw = request.data.get("version")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"version": [_("Expected an integer version.")]})


# --- permissions -------------------------------------------------------------------------------

ACTION_MAP = {
    "list": "view",
    "retrieve": "view",
    "history": "view",
    "share": "view",  # plus: owner of the record, or `assign` within scope (checked in the action)
    "unshare": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
    "restore": "delete",
    "recycle_bin": "delete",
    "bulk_delete": "delete",
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


# --- idempotency -------------------------------------------------------------------------------


STALE_RESERVATION = dt.timedelta(minutes=5)


class IdempotentPostMixin:
    """`Idempotency-Key` on any POST: the first response is stored (per user and key); a retry
    replays it with `Idempotent-Replayed: true` and runs nothing. The key is reserved before the
    handler runs, so a concurrent duplicate gets 409 instead of a second write. Reusing a key for
    another method or path is 422. A request that fails (4xx/5xx raised as an error) frees its key.
    """

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        handler = getattr(self, "post", None)
        if handler is not None:
            self.post = functools.partial(self._idempotent_post, handler)  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def dispatch_idempotent(self, request: Request, handler: Any, *args: Any, **kwargs: Any) -> Response:
        """For views written before every POST became idempotent: a no-op inside the wrapper."""
        if getattr(request, "_huoban_idempotent", False):
            return handler(request, *args, **kwargs)
        return self._idempotent_post(handler, request, *args, **kwargs)

    def _idempotent_post(self, handler: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()[:120]
        request._huoban_idempotent = True  # type: ignore[attr-defined]
        if not key or not request.user.is_authenticated:
            return handler(request, *args, **kwargs)
        method, path = str(request.method), request.path[:300]  # as stored (IdempotencyKey.path)
        try:
            with transaction.atomic():
                reservation = IdempotencyKey.objects.create(
                    user=request.user, key=key, method=method, path=path, status_code=0
                )
        except IntegrityError:
            prior = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if prior is None:  # freed meanwhile: run normally
                return handler(request, *args, **kwargs)
            if prior.path != path or prior.method != method:
                return Response(
                    {
                        "detail": _("This Idempotency-Key was used for another request."),
                        "code": "idempotency_key_reused",
                    },
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            if prior.status_code == 0 and prior.created_at < timezone.now() - STALE_RESERVATION:
                # the first attempt died without an answer (process killed): run again
                IdempotencyKey.objects.filter(pk=prior.pk, status_code=0).delete()
                return self._idempotent_post(handler, request, *args, **kwargs)
            if prior.status_code == 0:
                return Response(
                    {
                        "detail": _("A request with this Idempotency-Key is still being processed."),
                        "code": "idempotency_in_progress",
                    },
                    status=status.HTTP_409_CONFLICT,
                )
            resp = Response(prior.body, status=prior.status_code)
            resp["Idempotent-Replayed"] = "true"
            return resp
        try:
            response = handler(request, *args, **kwargs)
        except BaseException:
            IdempotencyKey.objects.filter(pk=reservation.pk).delete()
            raise
        if response.status_code >= 500 or not isinstance(response, Response):
            # server errors may be retried for real; files and streams are not replayable
            IdempotencyKey.objects.filter(pk=reservation.pk).delete()
        else:
            IdempotencyKey.objects.filter(pk=reservation.pk).update(
                status_code=response.status_code, body=jsonable(response.data)
            )
        return response


IdempotentCreateMixin = IdempotentPostMixin  # the earlier name, still imported by some modules


# --- viewset -----------------------------------------------------------------------------------


class RecordViewSet(IdempotentPostMixin, viewsets.ModelViewSet):
    record_model: Any = BaseRecord
    permission_classes = [RecordPermission]
    schema = RecordAutoSchema()
    search_fields: tuple[str, ...] = ()
    ordering_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
    default_ordering: tuple[str, ...] = ("-id",)
    list_actions: tuple[str, ...] = ("list", "recycle_bin")
    select_related: tuple[str, ...] = ("owner", "created_by", "updated_by")
    prefetch_related: tuple[str, ...] = ("tagged_items__tag",)
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]
    extra_action_permission: dict[str, str] = {}

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
        name = self.action or ""
        if name in self.extra_action_permission:
            return self.extra_action_permission[name]
        return ACTION_MAP.get(name, "view")

    def scope_action(self) -> str:
        needed = self.required_action() or "view"
        return "view" if needed in ("view", "add") else needed

    def _deleted_flags(self) -> dict[str, bool]:
        return {"only_deleted": self.action in ("restore", "recycle_bin")}

    def get_queryset(self) -> Any:
        qs = scoped(self.request.user, self.record_model, self.scope_action(), **self._deleted_flags())
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if self.prefetch_related:
            qs = qs.prefetch_related(*self.prefetch_related)
        return self.filter_base_queryset(qs)

    def filter_base_queryset(self, qs: Any) -> Any:
        return qs

    def get_object(self) -> Any:
        """The record through the door. Missing or outside the view scope → 404 (same body);
        visible but outside the scope of the write (e.g. shared read-only) → 403."""
        pk = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not pk.isdigit():
            raise Http404
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is not None:
            self.check_object_permissions(self.request, obj)
            return obj
        needed = self.scope_action()
        if needed != "view":
            visible = scoped(self.request.user, self.record_model, "view", **self._deleted_flags())
            if visible.filter(pk=pk).exists():
                raise PermissionDeniedError()
        raise Http404

    def _reload(self, obj: Any) -> Any:
        qs = scoped(self.request.user, self.record_model, "view", include_deleted=True)
        qs = qs.select_related(*self.select_related).prefetch_related(*self.prefetch_related)
        return qs.filter(pk=obj.pk).first() or obj

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        custom_fields = data.pop("custom_fields", None)
        tags = data.pop("tags", None)
        obj = self._reload(self.perform_service_create(data, custom_fields, tags))
        response = Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)
        response["ETag"] = f'"{obj.version}"'
        return response

    def _expected_version(self, request: Request) -> int | None:
        return expected_version(request)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        obj = self.get_object()
        version = self._expected_version(request)
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        custom_fields = data.pop("custom_fields", None)
        tags = data.pop("tags", None)
        obj = self._reload(self.perform_service_update(obj, data, custom_fields, tags, version))
        response = Response(self.get_serializer(obj).data)
        response["ETag"] = f'"{obj.version}"'
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        response = Response(self.get_serializer(obj).data)
        response["ETag"] = f'"{obj.version}"'
        return response

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        self.perform_service_delete(obj, self._expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, description="Restore a soft-deleted record from the recycle bin.")
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        obj = record_restore(actor=request.user, obj=self.get_object())
        return Response(self.get_serializer(self._reload(obj)).data)

    @extend_schema(
        description="Soft-deleted records the caller may restore (recycle bin; purged after 90 days)."
    )
    @action(detail=False, methods=["get"], url_path="deleted")
    def recycle_bin(self, request: Request) -> Response:
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=BulkIdsSerializer,
        responses={200: inline_serializer("BulkDeleted", {"deleted": serializers.IntegerField()})},
        description="Soft-delete many records at once (needs a fresh two-factor step-up when the "
        "user has 2FA). Every id must be deletable by the caller, else nothing is deleted.",
    )
    @action(detail=False, methods=["post"], url_path="bulk-delete")
    def bulk_delete(self, request: Request) -> Response:
        stepup.require_step_up(request)
        s = BulkIdsSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        objs = self._load_many(s.validated_data["ids"], "delete")
        n = record_delete_many(actor=request.user, objs=objs)
        return Response({"deleted": n})

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
        responses={200: inline_serializer("Transferred", {"transferred": serializers.IntegerField()})},
        description="Transfer ownership of this record to another user (owner unit follows).",
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
        request=BulkTransferSerializer,
        responses={200: inline_serializer("BulkTransferred", {"transferred": serializers.IntegerField()})},
        description='Bulk transfer: {"ids": [...], "owner": user_id}. Every id must be in scope.',
    )
    @action(detail=False, methods=["post"], url_path="transfer")
    def bulk_transfer(self, request: Request) -> Response:
        s = BulkTransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        objs = self._load_many(s.validated_data["ids"], "assign")
        new_owner = _active_user(s.validated_data["owner"])
        n = record_transfer(
            actor=request.user, objs=objs, new_owner=new_owner, reason=s.validated_data.get("reason", "")
        )
        return Response({"transferred": n})

    @extend_schema(
        methods=["GET"],
        request=None,
        responses=ShareOutSerializer(many=True),
        description="Who this record is shared with.",
    )
    @extend_schema(
        methods=["POST"],
        request=ShareSerializer,
        responses={201: ShareOutSerializer},
        description='Share with a user or a unit: {"user": id} or {"unit": id}, "level": "read" | '
        '"edit". Needs to be the owner, or the assign permission within scope.',
    )
    @action(detail=True, methods=["get", "post"])
    def share(self, request: Request, pk: Any = None) -> Response:
        from django.contrib.contenttypes.models import ContentType

        from huoban.platform.access.models import Share

        obj = self.get_object()
        if request.method == "GET":
            shares = Share.objects.filter(
                content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk
            ).order_by("id")
            return Response(ShareOutSerializer(shares, many=True).data)
        self._check_can_share(obj)
        s = ShareSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        share = share_record(
            actor=request.user,
            obj=obj,
            user=s.validated_data.get("user"),
            unit=s.validated_data.get("unit"),
            level=s.validated_data["level"],
        )
        return Response(ShareOutSerializer(share).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ShareSerializer,
        responses={200: inline_serializer("Unshared", {"removed": serializers.IntegerField()})},
        description='Stop sharing with a user or unit: {"user": id} or {"unit": id}.',
    )
    @action(detail=True, methods=["post"])
    def unshare(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        self._check_can_share(obj)
        s = ShareSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        n = unshare_record(
            actor=request.user, obj=obj, user=s.validated_data.get("user"), unit=s.validated_data.get("unit")
        )
        return Response({"removed": n})

    def _check_can_share(self, obj: Any) -> None:
        user = self.request.user
        if obj.owner_id == user.pk:
            return
        if (
            has_perm(user, self.record_model.object_type, "assign")
            and scoped(user, self.record_model, "assign").filter(pk=obj.pk).exists()
        ):
            return
        raise PermissionDeniedError()

    def _load_many(self, ids: list[int], scope_action: str) -> list[Any]:
        ids = list(dict.fromkeys(ids))
        objs = list(scoped(self.request.user, self.record_model, scope_action).filter(pk__in=ids))
        missing = sorted(set(ids) - {o.pk for o in objs})
        if missing:
            raise ValidationError({"ids": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]})
        return objs


def _active_user(pk: int) -> Any:
    from huoban.platform.identity.models import User

    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({"owner": [_("Choose an active user.")]})
    return user
