"""Root URLs. API routes are discovered from each app's `api` module; pages from each app's
`urls` module (`urlpatterns`), so landing a module never means editing this file."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from huoban.platform.api import health
from huoban.platform.api.router import build

router, api_extra = build()

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", include((api_extra + router.urls, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

for _config in apps.get_app_configs():
    if _config.name.startswith("huoban."):
        try:
            _module = importlib.import_module(f"{_config.name}.urls")
        except ModuleNotFoundError as exc:
            if exc.name != f"{_config.name}.urls":
                raise
            continue
        urlpatterns += getattr(_module, "urlpatterns", [])

handler404 = "huoban.platform.ui.errors.not_found"
handler500 = "huoban.platform.ui.errors.server_error"
