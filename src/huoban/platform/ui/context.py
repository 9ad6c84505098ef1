from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _unread(user: Any) -> int:
    from huoban.platform.notifications.services import unread_count

    return unread_count(user)


def shell(request: Any) -> dict[str, Any]:
    """Context every page gets: navigation, unread notifications, languages (computed lazily, so
    pages that do not use the shell — API, sign-in — pay nothing)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"huoban_languages": settings.LANGUAGES}
    from .nav import nav_for

    return {
        "huoban_nav": SimpleLazyObject(lambda: nav_for(user, request.path)),
        "huoban_unread": _unread(user),  # one indexed count; the bell shows it on every page
        "huoban_languages": settings.LANGUAGES,
    }
