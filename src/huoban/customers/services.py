"""Every write on customers goes through here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from huoban.platform.access.scoping import service
from huoban.platform.identity.actors import Actor
from huoban.platform.records.services import next_number, record_create, record_update

from .models import Customer

EDITABLE = (
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
    "owner",
)


@service
def customer_create(
    *, actor: Actor, data: dict[str, Any], custom_fields: dict | None = None, tags: list[str] | None = None
) -> Customer:
    with transaction.atomic():
        obj = Customer(**{k: v for k, v in data.items() if k in EDITABLE})
        obj.number = next_number("customer")
        return record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags)


@service
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
) -> Customer:
    return record_update(
        actor=actor,
        obj=customer,
        data=data,
        custom_fields=custom_fields,
        tags=tags,
        version=version,
        allowed_fields=EDITABLE,
    )
