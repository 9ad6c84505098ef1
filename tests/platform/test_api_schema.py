"""OpenAPI 3 schema at /api/schema/ (valid, custom fields documented) and Swagger UI at
/api/docs/ served from local static files."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from huoban.platform.records.models import CustomField

# Warnings in code owned by other modules, reported to their owners (see the lead's notes).
# Keep this list empty when they are fixed.
KNOWN_FOREIGN_WARNINGS: tuple[str, ...] = ()


@pytest.fixture
def fresh_stats():
    GENERATOR_STATS.reset()
    yield GENERATOR_STATS
    GENERATOR_STATS.reset()


def test_schema_is_valid_without_warnings(db, fresh_stats):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI document
    assert not fresh_stats._error_cache, list(fresh_stats._error_cache)
    warnings = [w for w in fresh_stats._warn_cache if not any(k in w for k in KNOWN_FOREIGN_WARNINGS)]
    assert warnings == []
    ops = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ops) == len(set(ops)), "operationIds must be unique"
    assert schema["openapi"].startswith("3.")
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"]["in"] == "cookie"


def test_schema_documents_record_conventions(org, api):
    schema = api(org.sales_rep1).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    lst = paths["/api/v1/customers/"]["get"]
    names = {p["name"] for p in lst["parameters"]}
    assert {"page", "page_size", "cursor", "q", "ordering", "tags", "kind"} <= names
    page = schema["components"]["schemas"]["PaginatedCustomerList"]["properties"]
    assert {"count", "count_capped", "next", "previous", "results"} <= set(page)
    post_params = {p["name"] for p in paths["/api/v1/customers/"]["post"].get("parameters", [])}
    assert "Idempotency-Key" in post_params
    patch_params = {p["name"] for p in paths["/api/v1/customers/{id}/"]["patch"].get("parameters", [])}
    assert "If-Match" in patch_params
    for sub in ("restore", "history", "transfer", "share"):
        assert f"/api/v1/customers/{{id}}/{sub}/" in paths
    for sub in ("deleted", "transfer", "bulk-delete"):
        assert f"/api/v1/customers/{sub}/" in paths


def test_custom_fields_appear_as_documented_objects(org, api):
    client = api(org.sales_rep1)
    before = client.get("/api/schema/?format=json").json()
    cf = before["components"]["schemas"]["Customer"]["properties"]["custom_fields"]
    assert cf["type"] == "object" and "budget" not in cf.get("properties", {})
    CustomField.objects.create(
        object_type="customer", key="budget", label="Budget", type="decimal", help_text="Annual budget"
    )
    CustomField.objects.create(
        object_type="customer", key="tier", label="Tier", type="single_select", options=["gold", "silver"]
    )
    schema = client.get("/api/schema/?format=json").json()
    for component in ("Customer", "CustomerRequest", "PatchedCustomerRequest"):
        props = schema["components"]["schemas"][component]["properties"]["custom_fields"]["properties"]
        assert props["budget"]["type"] == "string" and props["budget"]["format"] == "decimal"
        assert props["budget"]["description"] == "Annual budget"
        assert props["tier"]["enum"] == ["gold", "silver"]
    params = {p["name"]: p for p in schema["paths"]["/api/v1/customers/"]["get"]["parameters"]}
    assert "cf_budget" in params and "__gte" in params["cf_budget"]["description"]
    validate_schema(schema)


def test_swagger_ui_is_served_from_local_static_files(org, client):
    client.force_login(org.sales_rep1)
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    assert any("swagger-ui-bundle.js" in a for a in assets)
    assert any("swagger-ui.css" in a for a in assets)
    # no inline script (the CSP forbids it): the init script is a separate request
    assert "<script>" not in html
    init = [a for a in assets if "script" in a and a.startswith("/api/docs/")]
    assert init, assets
    js = client.get(init[0].replace("&amp;", "&"))
    assert js.status_code == 200 and "SwaggerUIBundle" in js.content.decode()
    for asset in assets:
        if asset.startswith("/static/"):
            got = client.get(asset)
            assert got.status_code == 200, asset
            b"".join(got.streaming_content) if hasattr(got, "streaming_content") else got.content
