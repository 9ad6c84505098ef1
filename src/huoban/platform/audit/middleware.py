from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from huoban.platform.access.scoping import door_guard

from .context import RequestContext, reset_context, set_context
from .services import normal_ip


def client_ip(request: HttpRequest) -> str | None:
    """Client address (None unless it is a valid IP address); X-Forwarded-For is trusted only
    behind a proxy (HUOBAN_TRUST_PROXY=1)."""
    raw = request.META.get("REMOTE_ADDR") or ""
    if settings.TRUST_PROXY:
        raw = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip() or raw
    return normal_ip(raw)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = RequestContext(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            request_id=getattr(request, "request_id", ""),
        )
        token = set_context(ctx)
        try:
            with door_guard(True):
                return self.get_response(request)
        finally:
            reset_context(token)
