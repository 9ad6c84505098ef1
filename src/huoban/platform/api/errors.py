"""JSON errors only: domain errors and DRF errors rendered in one shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from huoban.platform.errors import (
    ConflictError,
    DuplicateError,
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
                "detail": 'Likely duplicates found. Resend with "confirm_duplicate": true to save anyway.',
                "code": "duplicates",
                "duplicates": exc.duplicates,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, PermissionDeniedError):
        _log_denied(context)
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.PermissionDenied):
        _log_denied(context)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data = {"detail": str(detail), "code": getattr(detail, "code", "error")}
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
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def json_500(request: Any) -> JsonResponse:
    return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
