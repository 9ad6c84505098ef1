from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from huoban.platform.access import registry
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.identity.api import IsAdministrator

from .custom_fields import coerce_value
from .models import CustomField, CustomFieldType, NumberingRule, Picklist, PicklistValue

KEY_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
DEFINITION_FIELDS = [
    "object_type",
    "key",
    "label",
    "label_zh_hans",
    "type",
    "required",
    "default",
    "options",
    "help_text",
    "order",
]


class CustomFieldSerializer(serializers.ModelSerializer):
    """A custom field definition. Writable keys are exactly DEFINITION_FIELDS (object_type, key,
    label and type required); `id` and `active` are read-only."""

    label_zh_hans = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    options = serializers.ListField(child=serializers.JSONField(), required=False, default=list)
    default = serializers.JSONField(required=False, allow_null=True, default=None)

    class Meta:
        model = CustomField
        fields = ["id", *DEFINITION_FIELDS, "active"]
        read_only_fields = ["id", "active"]

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: [_("Unknown field.")] for k in unknown})
        return super().to_internal_value(data)

    def validate_key(self, value: str) -> str:
        if not KEY_RE.match(value):
            raise serializers.ValidationError(
                _("Use lowercase letters, digits and single underscores, starting with a letter.")
            )
        return value

    def validate_object_type(self, value: str) -> str:
        if registry.find(value) is None:
            raise serializers.ValidationError(_("Unknown object type."))
        return value

    def validate_options(self, value: Any) -> list:
        if not isinstance(value, list):
            raise serializers.ValidationError(_("Expected a list."))
        seen = set()
        for o in value:
            if isinstance(o, dict):
                if not isinstance(o.get("value"), str) or not o["value"]:
                    raise serializers.ValidationError(_("Each option needs a value."))
                v = o["value"]
            elif isinstance(o, str) and o:
                v = o
            else:
                raise serializers.ValidationError(_("Options are strings or {value, label, label_zh_hans}."))
            if v in seen:
                raise serializers.ValidationError(_("Option “%(v)s” appears twice.") % {"v": v})
            seen.add(v)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        ftype = attrs.get("type", getattr(instance, "type", None))
        if instance is not None:
            for locked in ("object_type", "key", "type"):
                if locked in attrs and attrs[locked] != getattr(instance, locked):
                    raise serializers.ValidationError({locked: [_("Cannot be changed once created.")]})
        options = attrs.get("options", getattr(instance, "options", []))
        if ftype in (CustomFieldType.SINGLE_SELECT, CustomFieldType.MULTI_SELECT) and not options:
            raise serializers.ValidationError({"options": [_("Select fields need at least one option.")]})
        if attrs.get("default") is not None:
            probe = CustomField(type=ftype or "", options=options)
            try:
                attrs["default"] = coerce_value(probe, attrs["default"])
            except ValueError as exc:
                raise serializers.ValidationError({"default": [str(exc)]})
        return attrs


class CustomFieldViewSet(viewsets.ModelViewSet):
    """Custom field definitions per object type (administrators write; everyone may read).

    `DELETE` deactivates a definition (values stay on records; it no longer accepts values);
    `POST …/{id}/activate/` brings it back. `?object_type=customer`, `?active=true|false`.
    """

    admin_object_type = "custom_field"
    serializer_class = CustomFieldSerializer
    ordering_fields = ("object_type", "order", "id")
    default_ordering = ("object_type", "order", "id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = CustomField.objects.none()

    def get_permissions(self) -> list[Any]:
        from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

        if self.request.method in SAFE_METHODS:
            return [IsAuthenticated()]
        return [IsAdministrator()]

    def get_queryset(self) -> Any:
        qs = CustomField.objects.all()
        ot = self.request.query_params.get("object_type")
        if ot:
            qs = qs.filter(object_type=ot)
        active = self.request.query_params.get("active")
        if active in ("true", "false"):
            qs = qs.filter(active=active == "true")
        return qs

    def _audit(self, obj: CustomField, action: str, changes: dict[str, Any]) -> None:
        audit_log(
            actor=self.request.user,
            action=action,
            object_type="custom_field",
            object_id=obj.pk,
            object_repr=str(obj),
            changes=changes,
        )

    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            obj = serializer.save()
            self._audit(obj, AuditAction.CREATE, {k: [None, v] for k, v in serializer.validated_data.items()})

    def perform_update(self, serializer: Any) -> None:
        before = {k: getattr(serializer.instance, k) for k in serializer.validated_data}
        with transaction.atomic():
            obj = serializer.save()
            changes = {k: [before[k], v] for k, v in serializer.validated_data.items() if before[k] != v}
            if changes:
                self._audit(obj, AuditAction.UPDATE, changes)

    def perform_destroy(self, instance: CustomField) -> None:
        # Definitions are deactivated, never dropped: values stay on records.
        if not instance.active:
            return
        with transaction.atomic():
            instance.active = False
            instance.save(update_fields=["active"])
            self._audit(instance, AuditAction.UPDATE, {"active": [True, False]})

    @extend_schema(request=None, responses=CustomFieldSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Any, pk: Any = None) -> Response:
        instance = self.get_object()
        if not instance.active:
            with transaction.atomic():
                instance.active = True
                instance.save(update_fields=["active"])
                self._audit(instance, AuditAction.UPDATE, {"active": [False, True]})
        return Response(self.get_serializer(instance).data)


class PicklistValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = PicklistValue
        fields = ["id", "code", "label", "label_zh_hans", "parent", "aliases", "order", "active"]


class PicklistSerializer(serializers.ModelSerializer):
    values = PicklistValueSerializer(many=True, read_only=True)

    class Meta:
        model = Picklist
        fields = ["id", "key", "name", "name_zh_hans", "hierarchical", "values"]


class PicklistViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PicklistSerializer
    lookup_field = "key"
    queryset = Picklist.objects.prefetch_related("values")
    pagination_class = None


class NumberingRuleSerializer(serializers.ModelSerializer):
    preview = serializers.CharField(read_only=True)

    class Meta:
        model = NumberingRule
        fields = ["id", "object_type", "prefix", "date_pattern", "separator", "serial_length", "preview"]


class NumberingRuleViewSet(viewsets.ModelViewSet):
    """Numbering rules; writes go through the same service as the settings page (validated,
    audited). ``object_type`` cannot change once created."""

    admin_object_type = "numbering_rule"
    permission_classes = [IsAdministrator]
    serializer_class = NumberingRuleSerializer
    queryset = NumberingRule.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]
    default_ordering = ("object_type",)
    ordering_fields = ("object_type",)

    def _save(self, serializer: Any, object_type: str) -> None:
        from huoban.platform.ui.settings_services import numbering_rule_save

        base = serializer.instance or NumberingRule()  # PATCH keeps the other fields; POST uses defaults
        fields = {
            k: serializer.validated_data.get(k, getattr(base, k))
            for k in ("prefix", "date_pattern", "separator", "serial_length")
        }
        serializer.instance = numbering_rule_save(actor=self.request.user, object_type=object_type, **fields)

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer, serializer.validated_data["object_type"])

    def perform_update(self, serializer: Any) -> None:
        object_type = serializer.validated_data.get("object_type", serializer.instance.object_type)
        if object_type != serializer.instance.object_type:
            raise serializers.ValidationError({"object_type": [_("Cannot be changed once created.")]})
        self._save(serializer, object_type)


routes = [
    ("custom-fields", CustomFieldViewSet, "custom-field"),
    ("picklists", PicklistViewSet, "picklist"),
    ("numbering-rules", NumberingRuleViewSet, "numbering-rule"),
]
