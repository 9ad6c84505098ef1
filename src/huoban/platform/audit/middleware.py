from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import RequestContext, reset_context, set_context


def client_ip(request: HttpRequest) -> str | None:
    """Client address; X-Forwarded-For is trusted only behind a proxy (HUOBAN_TRUST_PROXY=1)."""
    from django.conf import settings

    if getattr(settings, "TRUST_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from huoban.platform.access.scoping import door_guard

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
