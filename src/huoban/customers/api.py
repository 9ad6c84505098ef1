from __future__ import annotations

from typing import Any

from huoban.platform.api.records import RecordSerializer, RecordViewSet

from .models import Customer
from .services import customer_create, customer_update


class CustomerSerializer(RecordSerializer):
    class Meta(RecordSerializer.Meta):
        model = Customer
        fields = [
            *RecordSerializer.Meta.fields,
            "number",
            "name",
            "short_name",
            "kind",
            "uscc",
            "industry",
            "region",
            "phone",
            "email",
            "website",
            "lifecycle_stage",
            "id_number",
            "bank_account",
        ]
        read_only_fields = [*RecordSerializer.Meta.read_only_fields, "number"]


class CustomerViewSet(RecordViewSet):
    record_model = Customer
    serializer_class = CustomerSerializer
    search_fields = Customer.search_fields
    ordering_fields = ("id", "created_at", "updated_at", "name", "number")
    filterset_fields = {
        "kind": ["exact"],
        "lifecycle_stage": ["exact", "in"],
        "industry": ["exact"],
        "region": ["exact"],
        "owner": ["exact"],
        "owner_unit": ["exact"],
    }

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Customer:
        return customer_create(actor=self.request.user, data=data, custom_fields=custom_fields, tags=tags)

    def perform_service_update(
        self, obj: Customer, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Customer:
        return customer_update(
            actor=self.request.user,
            customer=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )


routes = [("customers", CustomerViewSet, "customer")]
