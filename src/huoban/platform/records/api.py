from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers, viewsets

from huoban.platform.access import registry
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.identity.api import IsAdministrator

from .custom_fields import coerce_value
from .models import CustomField, CustomFieldType, NumberingRule, Picklist, PicklistValue


class CustomFieldSerializer(serializers.ModelSerializer):
    label_zh_hans = serializers.CharField(required=False, allow_blank=True, default="")
    options = serializers.JSONField(required=False, default=list)
    default = serializers.JSONField(required=False, allow_null=True, default=None)

    class Meta:
        model = CustomField
        fields = [
            "id",
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
            "active",
        ]

    def validate_object_type(self, value: str) -> str:
        if registry.find(value) is None:
            raise serializers.ValidationError(_("Unknown object type."))
        return value

    def validate_options(self, value: Any) -> list:
        if not isinstance(value, list):
            raise serializers.ValidationError(_("Expected a list."))
        for o in value:
            if isinstance(o, dict):
                if "value" not in o:
                    raise serializers.ValidationError(_("Each option needs a value."))
            elif not isinstance(o, str):
                raise serializers.ValidationError(_("Options are strings or {value, label, label_zh_hans}."))
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
            probe = CustomField(type=ftype, options=options)
            try:
                attrs["default"] = coerce_value(probe, attrs["default"])
            except ValueError as exc:
                raise serializers.ValidationError({"default": [str(exc)]})
        return attrs


class CustomFieldViewSet(viewsets.ModelViewSet):
    """Custom field definitions per object type (administrators write; everyone may read)."""

    admin_object_type = "custom_field"
    serializer_class = CustomFieldSerializer
    ordering_fields = ("object_type", "order", "id")
    default_ordering = ("object_type", "order", "id")

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
        return qs

    def _audit(self, obj: CustomField, changes: dict[str, Any]) -> None:
        audit_log(
            actor=self.request.user,
            action=AuditAction.UPDATE,
            object_type="custom_field",
            object_id=obj.pk,
            object_repr=str(obj),
            changes=changes,
        )

    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            obj = serializer.save()
            self._audit(obj, {k: [None, v] for k, v in serializer.validated_data.items()})

    def perform_update(self, serializer: Any) -> None:
        before = {k: getattr(serializer.instance, k) for k in serializer.validated_data}
        with transaction.atomic():
            obj = serializer.save()
            self._audit(
                obj, {k: [before[k], v] for k, v in serializer.validated_data.items() if before[k] != v}
            )

    def perform_destroy(self, instance: CustomField) -> None:
        # Definitions are deactivated, never dropped: values stay on records.
        with transaction.atomic():
            instance.active = False
            instance.save(update_fields=["active"])
            self._audit(instance, {"active": [True, False]})


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
    admin_object_type = "numbering_rule"
    permission_classes = [IsAdministrator]
    serializer_class = NumberingRuleSerializer
    queryset = NumberingRule.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]
    default_ordering = ("object_type",)
    ordering_fields = ("object_type",)


routes = [
    ("custom-fields", CustomFieldViewSet, "custom-field"),
    ("picklists", PicklistViewSet, "picklist"),
    ("numbering-rules", NumberingRuleViewSet, "numbering-rule"),
]
