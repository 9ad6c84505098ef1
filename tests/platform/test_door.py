"""The door test: every API list/detail endpoint under /api/v1/, as every demo user, reads
business records only through scoped() — the door guard raises `UnscopedAccess` in tests.

Records to look at: one customer per demo user, plus, for every other registered object type,
whatever a factory ``make_<object_type>(owner)`` in ``tests/<app>/factories.py`` creates (if the
module defines one), plus any rows that already exist.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, path, reverse
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from huoban.platform.access import registry
from huoban.platform.access.scoping import UnscopedAccess, door_guard, scoped
from tests.permissions import DEMO_USERS, make_customer

SKIP_NAMES = {"not-found"}


def _flatten(patterns: list[Any], prefix: str = "") -> list[URLPattern]:
    out: list[URLPattern] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            out.extend(_flatten(p.url_patterns))
        else:
            out.append(p)
    return out


def api_patterns() -> list[URLPattern]:
    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "api":
            return [q for q in _flatten(p.url_patterns) if q.name and q.name not in SKIP_NAMES]
    raise AssertionError("no api namespace")


def _view_class(pattern: URLPattern) -> Any:
    cb = pattern.callback
    return getattr(cb, "cls", None) or getattr(cb, "view_class", None)


def _supports_get(pattern: URLPattern) -> bool:
    cb = pattern.callback
    actions = getattr(cb, "actions", None)
    if actions is not None:
        return "get" in actions
    cls = _view_class(pattern)
    return cls is not None and hasattr(cls, "get")


def _model_of(cls: Any) -> Any:
    from huoban.platform.records.models import BaseRecord

    model = getattr(cls, "record_model", None)
    if model is not None and model is not BaseRecord:
        return model
    qs = getattr(cls, "queryset", None)
    if qs is not None:
        return qs.model
    serializer = getattr(cls, "serializer_class", None)
    return getattr(getattr(serializer, "Meta", None), "model", None)


def _sample_value(cls: Any, kwarg: str) -> str:
    model = _model_of(cls)
    if model is None:
        return "1"
    manager = model._default_manager
    qs = manager.unrestricted() if hasattr(manager, "unrestricted") else manager.all()
    obj = qs.order_by("pk").first()
    if obj is None:
        return "1"
    field = getattr(cls, "lookup_field", "pk") or "pk"
    return str(getattr(obj, field, obj.pk))


FALLBACK_VALUES = ("1", "customer", "a")


def get_urls() -> list[str]:
    urls = []
    for pattern in api_patterns():
        if not _supports_get(pattern):
            continue
        names = list(pattern.pattern.regex.groupindex)
        first = {k: _sample_value(_view_class(pattern), k) for k in names}
        for kwargs in [first, *({k: v for k in names} for v in FALLBACK_VALUES)]:
            try:
                urls.append(reverse(f"api:{pattern.name}", kwargs=kwargs))
                break
            except NoReverseMatch:
                continue
        else:  # pragma: no cover - a path parameter no sample value fits
            raise AssertionError(f"cannot build a URL for {pattern.name} ({pattern.pattern})")
    return sorted(set(urls))


def _factory_for(object_type: registry.ObjectType) -> Any:
    try:
        module = importlib.import_module(f"tests.{object_type.module}.factories")
    except ModuleNotFoundError:
        return None
    return getattr(module, f"make_{object_type.key}", None)


@pytest.fixture
def records(org):
    from huoban.platform.jobs.models import Job
    from huoban.platform.notifications.services import notify
    from huoban.platform.records.models import CustomField

    CustomField.objects.create(object_type="customer", key="door", label="Door", type="text")
    for name in DEMO_USERS:
        user = org.users[name]
        make_customer(user, tags=["door"])
        notify(recipient=user, verb="door", title="Door")
        Job.objects.create(kind="door", actor=user, actor_name=name)
        for ot in registry.all_types():
            factory = _factory_for(ot)
            if factory is not None:
                factory(user)
    return org


def test_every_object_type_has_an_api_resource(db):
    names = {p.name for p in api_patterns()}
    urls = set(get_urls())
    for ot in registry.all_types():
        assert f"/api/v1/{ot.resource}/" in urls, f"{ot.key}: no list endpoint /api/v1/{ot.resource}/"
        assert any(n.endswith("-detail") for n in names)


def test_every_get_endpoint_goes_through_the_door(records):
    urls = get_urls()
    assert "/api/v1/customers/" in urls
    assert any(u.startswith("/api/v1/customers/") and u.rstrip("/").split("/")[-1].isdigit() for u in urls)
    record_lists = {f"/api/v1/{ot.resource}/" for ot in registry.all_types()}
    problems = []
    for name in DEMO_USERS:
        client = APIClient()
        client.force_authenticate(user=records.users[name])
        for url in urls:
            queries = ("",)
            if url in record_lists:  # the list machinery: search, cursor, tags, custom fields
                queries = ("", "?q=door&ordering=-id", "?cursor=", "?tags=door&cf_door__isnull=true")
            for query in queries:
                try:
                    r = client.get(url + query)
                except UnscopedAccess as exc:
                    problems.append(f"{name} GET {url}{query}: {exc}")
                    continue
                if r.status_code >= 500:
                    problems.append(f"{name} GET {url}{query}: HTTP {r.status_code}")
                elif not r["Content-Type"].startswith("application/json"):
                    problems.append(f"{name} GET {url}{query}: {r['Content-Type']}")
    assert problems == [], "\n".join(problems)


# --- the guard itself -----------------------------------------------------------------------------


class LeakyView(APIView):
    def get(self, request):
        from huoban.customers.models import Customer

        return Response({"n": len(list(Customer.objects.all()))})


class CountingLeakyView(APIView):
    def get(self, request):
        from huoban.customers.models import Customer

        return Response({"n": Customer.objects.filter(name__startswith="x").count()})


class ScopedView(APIView):
    def get(self, request):
        from huoban.customers.models import Customer

        return Response({"n": len(list(scoped(request.user, Customer)))})


class UnrestrictedView(APIView):
    def get(self, request):
        from huoban.customers.models import Customer

        return Response({"n": Customer.objects.unrestricted().count()})


urlpatterns = [
    path("leaky/", LeakyView.as_view()),
    path("leaky-count/", CountingLeakyView.as_view()),
    path("scoped/", ScopedView.as_view()),
    path("unrestricted/", UnrestrictedView.as_view()),
]


@pytest.mark.urls(__name__)
def test_guard_fires_for_a_view_reading_objects_all(org):
    client = APIClient()
    client.force_authenticate(user=org.admin)
    with pytest.raises(UnscopedAccess):
        client.get("/leaky/")
    with pytest.raises(UnscopedAccess):
        client.get("/leaky-count/")
    assert client.get("/scoped/").status_code == 200
    assert client.get("/unrestricted/").status_code == 200


def test_guard_is_only_active_inside_requests(org):
    from huoban.customers.models import Customer

    assert isinstance(list(Customer.objects.all()), list)  # system code outside a request
    with door_guard(True), pytest.raises(UnscopedAccess):
        list(Customer.objects.all())
    with door_guard(True):
        assert isinstance(list(scoped(org.admin, Customer)), list)


def test_guard_logs_instead_of_raising_in_production(org, caplog):
    from huoban.customers.models import Customer

    with override_settings(TESTING=False, DEBUG=False), door_guard(True), caplog.at_level(logging.ERROR):
        list(Customer.objects.all())
    assert "read without scoped()" in caplog.text
