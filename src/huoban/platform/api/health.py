from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import JsonResponse


def healthz(request: Any) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request: Any) -> JsonResponse:
    """Database and task queue reachable; 503 otherwise (load balancers take the node out)."""
    checks: dict[str, str] = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # pragma: no cover - exercised by pointing at a dead database
        checks["database"] = f"error: {type(exc).__name__}"
        ok = False
    try:
        from huey.contrib.djhuey import HUEY

        HUEY.pending_count()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"error: {type(exc).__name__}"
        ok = False
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
