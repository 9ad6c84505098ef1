from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from huoban.platform.access import registry
from huoban.platform.identity.api import IsAdministrator

from . import definitions
from .models import CustomField, NumberingRule, Picklist, PicklistValue

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

    def validate_object_type(self, value: str) -> str:
        if registry.find(value) is None:
            raise serializers.ValidationError(_("Unknown object type."))
        return value

    def validate_options(self, value: Any) -> list:
        if not isinstance(value, list):
            raise serializers.ValidationError(_("Expected a list."))
        for o in value:
            if isinstance(o, dict):
                if not isinstance(o.get("value"), str) or not o["value"]:
                    raise serializers.ValidationError(_("Each option needs a value."))
            elif not (isinstance(o, str) and o):
                raise serializers.ValidationError(_("Options are strings or {value, label, label_zh_hans}."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Shape only; the rules (key syntax, options, default) are the service's."""
        if self.instance is not None:
            for locked in ("object_type", "key", "type"):
                if locked in attrs and attrs[locked] != getattr(self.instance, locked):
                    raise serializers.ValidationError({locked: [_("Cannot be changed once created.")]})
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

    def perform_create(self, serializer: Any) -> None:
        # the API's definition shape defaults `order` to 0; the settings page appends instead
        data = {"order": 0, **serializer.validated_data}
        serializer.instance = definitions.custom_field_create(actor=self.request.user, **data)

    def perform_update(self, serializer: Any) -> None:
        data = {k: v for k, v in serializer.validated_data.items() if k not in ("object_type", "key", "type")}
        serializer.instance = definitions.custom_field_update(
            actor=self.request.user, field=serializer.instance, **data
        )

    def perform_destroy(self, instance: CustomField) -> None:
        # Definitions are deactivated, never dropped: values stay on records.
        definitions.custom_field_update(actor=self.request.user, field=instance, active=False)

    @extend_schema(request=None, responses=CustomFieldSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Any, pk: Any = None) -> Response:
        instance = definitions.custom_field_update(actor=request.user, field=self.get_object(), active=True)
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
        base = serializer.instance or NumberingRule()  # PATCH keeps the other fields; POST uses defaults
        fields = {
            k: serializer.validated_data.get(k, getattr(base, k))
            for k in ("prefix", "date_pattern", "separator", "serial_length")
        }
        serializer.instance = definitions.numbering_rule_save(
            actor=self.request.user, object_type=object_type, **fields
        )

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
