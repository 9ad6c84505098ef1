"""Root URLs. API routes are discovered from each app's `api` module; pages from each app's
`urls` module (`urlpatterns`), so landing a module never means editing this file."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from huoban.platform.api import health
from huoban.platform.api.router import build
from huoban.platform.discovery import app_modules

router, api_extra = build()

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", include((api_extra + router.urls, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

for _module in app_modules("urls"):
    urlpatterns += getattr(_module, "urlpatterns", [])

handler404 = "huoban.platform.ui.errors.not_found"
handler500 = "huoban.platform.ui.errors.server_error"
