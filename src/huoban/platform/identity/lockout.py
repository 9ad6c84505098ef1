"""Login lockout (django-axes): helpers shared by the web login, the OTP step and the token API.

Axes counts failures per username + client IP (``HUOBAN_LOGIN_FAILURE_LIMIT``, default 5) and
refuses further attempts for ``HUOBAN_LOGIN_COOLOFF_MINUTES`` (default 15). Our views render the
refusal themselves (HTML page or JSON ``{"code": "locked_out"}``); ``lockout_response`` is the
``AXES_LOCKOUT_CALLABLE`` that keeps those responses and builds one for any other caller.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

HANDLED = "_huoban_lockout_handled"
STATUS = 429


def cooloff_minutes() -> int:
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    if cooloff is None:
        return 0
    if hasattr(cooloff, "total_seconds"):
        return max(1, int(cooloff.total_seconds() // 60))
    return int(float(cooloff) * 60)  # axes also accepts hours as a number


def lockout_message() -> str:
    minutes = cooloff_minutes()
    if minutes:
        return _(
            "Too many failed login attempts. Your account is locked for %(minutes)d minutes; "
            "try again later or reset your password."
        ) % {"minutes": minutes}
    return _("Too many failed login attempts. Ask an administrator to unlock your account.")


def is_locked_out(request: HttpRequest) -> bool:
    """Axes flagged this request (the attempt was refused or just caused the lockout)."""
    return bool(getattr(request, "axes_locked_out", False))


def is_allowed(request: HttpRequest, username: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    if not getattr(settings, "AXES_ENABLED", True):
        return True
    return AxesProxyHandler.is_allowed(request, {"username": username})


def reset_failures(request: HttpRequest, username: str) -> None:
    """Successful sign-in without ``login()`` (token API): clear this username+IP's failures."""
    from axes.handlers.proxy import AxesProxyHandler

    if not getattr(settings, "AXES_ENABLED", True):
        return
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.reset_attempts(ip_address=getattr(request, "axes_ip_address", None), username=username)


def unlock_user(username: str) -> int:
    """Clear every recorded failure of ``username`` (after a password reset, or by an admin)."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.reset_attempts(username=username)


def record_failure(request: HttpRequest, username: str, stage: str) -> None:
    """A failure outside ``authenticate()`` (e.g. a wrong OTP code at login) counts like one."""
    from django.contrib.auth.signals import user_login_failed

    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request, stage=stage)


def json_lockout(request: HttpRequest | None = None) -> JsonResponse:
    response = JsonResponse({"detail": lockout_message(), "code": "locked_out"}, status=STATUS)
    minutes = cooloff_minutes()
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    mark_handled(response)
    return response


def mark_handled(response: HttpResponse) -> HttpResponse:
    setattr(response, HANDLED, True)
    return response


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: keep a response our views already built, else a JSON/HTML refusal."""
    if original_response is not None and getattr(original_response, HANDLED, False):
        return original_response
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return json_lockout(request)
    from django.shortcuts import render

    return render(request, "identity/locked_out.html", {"message": lockout_message()}, status=STATUS)
