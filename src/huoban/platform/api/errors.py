"""JSON errors only: domain errors and DRF errors rendered in one shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from huoban.platform.errors import (
    ConflictError,
    DuplicateError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ValidationError):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConflictError):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DuplicateError):
        return Response(
            {
                "detail": _('Likely duplicates found. Resend with "confirm_duplicate": true to save anyway.'),
                "code": "duplicates",
                "duplicates": exc.duplicates,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, PermissionDeniedError):
        _log_denied(context)
        body = {"detail": exc.message, "code": exc.code}
        if exc.code == "step_up_required":
            body["step_up"] = reverse("api:me-step-up")  # POST the TOTP code there, then retry
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404 | NotFoundError):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.PermissionDenied):
        _log_denied(context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data = {"detail": str(detail), "code": getattr(detail, "code", "error")}
    elif isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def _log_denied(context: dict[str, Any]) -> None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return
    from huoban.platform.audit.models import AuditAction
    from huoban.platform.audit.services import audit_log

    audit_log(
        actor=user,
        action=AuditAction.ACCESS_DENIED,
        object_type="",
        object_repr=request.path[:300],
        data={"method": request.method, "path": request.path[:300]},
    )


def json_404(request: Any, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)


def json_500(request: Any) -> JsonResponse:
    return JsonResponse({"detail": _("Server error."), "code": "server_error"}, status=500)


def api_not_found(request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
    """Catch-all under /api/v1/: unknown paths answer JSON 404 even with DEBUG on. A path that
    only lacks its trailing slash is redirected with 308 (method and body kept)."""
    from django.http import HttpResponsePermanentRedirect
    from django.urls import Resolver404, resolve

    path = request.path
    if not path.endswith("/"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            target = path + "/"
            if request.META.get("QUERY_STRING"):
                target += "?" + request.META["QUERY_STRING"]
            response = HttpResponsePermanentRedirect(target)
            response.status_code = 308
            return response
    return json_404(request)
