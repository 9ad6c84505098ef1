"""API route discovery: every installed Huoban app may expose `routes` in its `api` module.

    routes = [("customers", CustomerViewSet, "customer")]   # prefix, viewset, basename

and extra non-viewset paths as `urlpatterns` in the same module. No shared file to edit when a
module lands. The router ends with a catch-all so unknown /api/v1/ paths answer JSON 404.
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from rest_framework.routers import DefaultRouter

from huoban.platform.discovery import app_modules

from .errors import api_not_found


class Router(DefaultRouter):
    include_format_suffixes = False

    def get_urls(self) -> list[Any]:
        return [*super().get_urls(), re_path(r"^.*$", api_not_found, name="not-found")]


def build() -> tuple[Router, list[Any]]:
    router = Router(trailing_slash=True)
    extra: list[Any] = []
    for module in app_modules("api"):
        for prefix, viewset, basename in getattr(module, "routes", []):
            router.register(prefix, viewset, basename=basename)
        extra.extend(getattr(module, "urlpatterns", []))
    return router, extra
