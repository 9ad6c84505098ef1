"""Step-up verification: sensitive actions need a fresh TOTP check for users who have 2FA."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from huoban.platform.errors import StepUpRequired


def step_up_fresh(user: Any) -> bool:
    if user.last_step_up_at is None:
        return False
    return (timezone.now() - user.last_step_up_at).total_seconds() <= settings.STEP_UP_WINDOW


def require_step_up(request: Any) -> None:
    """Raise StepUpRequired (403, code step_up_required) unless the user verified recently.

    Users without 2FA pass (roles that need 2FA force enrolment at login instead).
    """
    from .api import user_has_2fa

    user = request.user
    if not user_has_2fa(user):
        return
    if step_up_fresh(user):
        return
    raise StepUpRequired()
