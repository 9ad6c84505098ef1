"""Registry of business object types (one entry per record model).

Domain apps register their models by subclassing ``records.models.BaseRecord`` with an
``object_type`` attribute; the records app fills this registry when apps are ready. The registry
is how roles, the permission matrix, custom fields, search, imports and exports find objects
without the platform importing any domain app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model

    from huoban.platform.records.models import BaseRecord


@dataclass
class ObjectType:
    key: str  # "customer"
    model: type[BaseRecord]
    resource: str  # "customers" (API and page path segment)
    label: Any = ""  # translatable singular
    label_plural: Any = ""
    sensitive_fields: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ()
    module: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_TYPES: dict[str, ObjectType] = {}


def register(obj: ObjectType) -> ObjectType:
    _TYPES[obj.key] = obj
    return obj


def get(key: str) -> ObjectType:
    return _TYPES[key]


def find(key: str) -> ObjectType | None:
    return _TYPES.get(key)


def for_model(model: type[Model]) -> ObjectType | None:
    concrete = getattr(model, "_meta", None)
    if concrete is None:
        return None
    key = getattr(model, "object_type", None)
    return _TYPES.get(key) if key else None


def all_types() -> list[ObjectType]:
    return sorted(_TYPES.values(), key=lambda o: o.key)
