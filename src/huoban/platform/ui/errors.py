from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def _base(request: Any) -> str:
    user = getattr(request, "user", None)
    return "ui/base.html" if user is not None and user.is_authenticated else "ui/base_auth.html"


def not_found(request: Any, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return render(request, "ui/error.html", {"code": 404, "base_template": _base(request)}, status=404)


def server_error(request: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    # The plain sign-in layout: the shell itself may be what failed.
    try:
        return render(
            request, "ui/error.html", {"code": 500, "base_template": "ui/base_auth.html"}, status=500
        )
    except Exception:
        return HttpResponse("Server error.", status=500, content_type="text/plain")
