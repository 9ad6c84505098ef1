from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone, translation


class UserLanguageMiddleware:
    """Language: ?lang= switch (stored in the session), the user's profile, else Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = None
        session = getattr(request, "session", None)
        if session is not None:
            lang = session.get("huoban_language")
        if not lang:
            lang = translation.get_language_from_request(request)
        translation.activate(lang)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        tz = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if user is not None and user.is_authenticated and user.language:
            if not request.session.get("huoban_language"):
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
        if tz:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


# While a user whose role requires 2FA has not enrolled, only these paths answer normally.
ENROLMENT_PAGE = "/profile/security/2fa/"
ENROLMENT_ALLOWED_PREFIXES = (ENROLMENT_PAGE, "/api/v1/me/2fa/", "/logout/", "/static/", "/login/")
ENROLMENT_ALLOWED_EXACT = ("/api/v1/me/", "/healthz", "/readyz")


def _enrolment_gate(request: HttpRequest) -> HttpResponse | None:
    """Send a signed-in user who must enrol in 2FA to the enrolment page (API: 403 JSON)."""
    path = request.path
    if path in ENROLMENT_ALLOWED_EXACT or path.startswith(ENROLMENT_ALLOWED_PREFIXES):
        return None
    from .twofactor import enrolment_required

    if not enrolment_required(request.user):
        return None
    if path.startswith("/api/"):
        from django.utils.translation import gettext as _

        return JsonResponse(
            {
                "detail": _("Your role requires two-factor authentication. Enrol in your profile first."),
                "code": "2fa_enrolment_required",
            },
            status=403,
        )
    from urllib.parse import urlencode

    return redirect(f"{ENROLMENT_PAGE}?{urlencode({'next': request.get_full_path()})}")


class SessionTimeoutMiddleware:
    """Session security for signed-in browser sessions.

    * idle (default 30 min, HUOBAN_SESSION_IDLE_MINUTES) and absolute (default 12 h,
      HUOBAN_SESSION_ABSOLUTE_HOURS) expiry; tracks sessions per user (UserSession) so users can
      list and revoke them;
    * the 2FA enrolment gate: a user whose role requires 2FA and who has not enrolled yet can
      only reach the enrolment page (and log out) until they do.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and hasattr(request, "session")
            and request.session.session_key
        ):
            now = time.time()
            started = request.session.get("huoban_started", now)
            last = request.session.get("huoban_last_seen", now)
            if now - last > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_COOKIE_AGE:
                from .services import session_ended

                session_ended(request, reason="expired")
                logout(request)
                if request.path.startswith("/api/"):
                    from django.utils.translation import gettext as _

                    return JsonResponse(
                        {"detail": _("Your session has expired. Log in again."), "code": "session_expired"},
                        status=401,
                    )
                from urllib.parse import urlencode

                return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
            # Write the session only when something changes (at most every 30 s), not per request.
            if "huoban_started" not in request.session:
                request.session["huoban_started"] = started
            if now - last > 30:
                request.session["huoban_last_seen"] = now
                from .models import UserSession

                UserSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen_at=timezone.now()
                )
            elif "huoban_last_seen" not in request.session:
                request.session["huoban_last_seen"] = now
            gate = _enrolment_gate(request)
            if gate is not None:
                return gate
        return self.get_response(request)
