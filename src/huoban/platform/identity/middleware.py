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


class SessionTimeoutMiddleware:
    """Idle (default 30 min) and absolute (default 12 h) session expiry; tracks sessions per user."""

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
                    return JsonResponse({"detail": "Session expired.", "code": "session_expired"}, status=401)
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            request.session["huoban_started"] = started
            if now - last > 30:
                request.session["huoban_last_seen"] = now
                from .models import UserSession

                UserSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen_at=timezone.now()
                )
            elif "huoban_last_seen" not in request.session:
                request.session["huoban_last_seen"] = now
        return self.get_response(request)
