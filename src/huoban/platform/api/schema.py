"""OpenAPI (drf-spectacular) glue: auth schemes, custom fields as documented objects, headers.

Imported by ``ApiConfig.ready()`` so the extensions register before any schema is generated.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "huoban.platform.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "huoban.platform.identity.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        scheme["description"] = "API token from POST /api/v1/auth/token/ or /api/v1/me/tokens/."
        return scheme


class CustomFieldsFieldExtension(OpenApiSerializerFieldExtension):
    """`custom_fields` of a record serializer: an object whose properties are the current
    definitions of that object type (read from the database at schema generation time)."""

    target_class = "huoban.platform.api.records.CustomFieldsField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        from huoban.platform.records.custom_fields import openapi_schema

        parent = getattr(self.target, "parent", None)
        model = getattr(getattr(parent, "Meta", None), "model", None)
        object_type = getattr(model, "object_type", "") or ""
        if not object_type:
            return {
                "type": "object",
                "additionalProperties": True,
                "description": "Custom field values by key (definitions at /api/v1/custom-fields/).",
            }
        return openapi_schema(object_type)


_STANDARD = {"list", "retrieve", "create", "update", "partial_update", "destroy"}


class RecordAutoSchema(AutoSchema):
    """Adds the write headers (Idempotency-Key, If-Match) and unique ids for bulk actions."""

    def get_operation_id(self) -> str:
        op = super().get_operation_id()
        action = getattr(self.view, "action", None) or ""
        if action.startswith("bulk_") and "{" not in self.path:
            tokens = [t.replace("-", "_") for t in self._tokenize_path()]
            method = self.method_mapping[self.method.lower()]
            op = "_".join([*tokens[:-1], action, method])
        return op

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        method = self.method.upper()
        if method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="A retried POST with the same key replays the first response "
                    "(header Idempotent-Replayed: true) and changes nothing.",
                )
            )
        if method in ("PUT", "PATCH", "DELETE") and re.search(r"\{\w+\}/$", self.path):
            params.append(
                OpenApiParameter(
                    "If-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description='The version you read (or send "version" in the body); stale → 409.',
                )
            )
        return params


_ENUM_LOCK = threading.Lock()


def postprocess_schema_enums(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular's enum hook with every name decided up front, so modules never collide.

    A field name used for one choice set keeps the short name (`LifecycleStageEnum`); a field
    name used for different choice sets in different components is named after the component
    (`CustomerKindEnum`, `OrgUnitKindEnum`); a choice set reused under several names takes the
    first. ENUM_NAME_OVERRIDES still win. Enabled by SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].
    """
    from unittest import mock

    from drf_spectacular import hooks
    from drf_spectacular.plumbing import list_hash, load_enum_name_overrides
    from inflection import camelize

    schemas = result.get("components", {}).get("schemas", {})
    uses: dict[str, set[tuple[str, str]]] = {}  # choice-set hash → {(component, field)}
    by_field: dict[str, set[str]] = {}  # field name → choice-set hashes
    for name, schema in schemas.items():
        component = re.sub(r"^Patched(.+)", r"\1", name)
        component = re.sub(r"(.+)Request$", r"\1", component)
        for field, prop in _enum_props(schema):
            h = prop.get("x-spec-enum-id") or list_hash([(i, i) for i in prop["enum"] if i not in ("", None)])
            uses.setdefault(h, set()).add((component, field))
            by_field.setdefault(field, set()).add(h)
    suffix = "Enum"
    names: dict[str, str] = {}
    taken: set[str] = set()
    for h in sorted(uses, key=lambda x: sorted(uses[x])):
        pairs = sorted(uses[h])
        unique = sorted(f for _c, f in pairs if len(by_field[f]) == 1)
        if unique:
            candidate = f"{camelize(unique[0])}{suffix}"
        else:
            component, field = pairs[0]
            candidate = f"{camelize(component)}{camelize(field)}{suffix}"
        base, n = candidate, 2
        while candidate in taken:
            candidate = f"{base[: -len(suffix)]}{n}{suffix}"
            n += 1
        taken.add(candidate)
        names[h] = candidate
    overrides = {**names, **load_enum_name_overrides()}
    with _ENUM_LOCK, mock.patch.object(hooks, "load_enum_name_overrides", lambda: overrides):
        return hooks.postprocess_schema_enums(result, generator, **kwargs)


def _enum_props(schema: Any) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, list):
        for item in schema:
            out.extend(_enum_props(item))
    elif isinstance(schema, dict):
        for field, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("type") == "array":
                prop = prop.get("items")
            if isinstance(prop, dict) and "enum" in prop:
                out.append((field, prop))
        for key in ("oneOf", "allOf", "anyOf"):
            out.extend(_enum_props(schema.get(key, [])))
    return out
