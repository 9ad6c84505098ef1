"""Step-up verification: sensitive actions need a fresh TOTP check for users who have 2FA.

Any view (API or page) that performs a sensitive action calls ``require_step_up(request)``
before doing the work::

    from huoban.platform.identity.stepup import require_step_up

    def perform_export(self, ...):
        require_step_up(self.request)   # 403 {"code": "step_up_required"} when not fresh
        ...

The client then sends the current code to ``POST /api/v1/me/step-up/`` (or the user opens
``/step-up/?next=<page>``) and retries. The check is fresh for ``HUOBAN_STEP_UP_MINUTES``
(default 10). Users without 2FA pass; roles that need 2FA force enrolment at login instead.
Sensitive actions wired today: role create/change/delete, user role assignment, 2FA reset of
another user, sensitive-field reveal. Export and bulk delete call it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import StepUpRequired, ValidationError

from .models import User
from .twofactor import user_has_2fa, verify_otp

STEP_UP_URL = "/step-up/"


def step_up_fresh(user: Any) -> bool:
    if user.last_step_up_at is None:
        return False
    return (timezone.now() - user.last_step_up_at).total_seconds() <= settings.STEP_UP_WINDOW


def step_up_needed(user: Any) -> bool:
    """True when ``require_step_up`` would refuse this user right now."""
    return user_has_2fa(user) and not step_up_fresh(user)


def require_step_up(request: Any) -> None:
    """Raise StepUpRequired (403, code step_up_required) unless the user verified recently.

    Users without 2FA pass (roles that need 2FA force enrolment at login instead).
    """
    if step_up_needed(request.user):
        raise StepUpRequired()


def step_up_url(next_url: str) -> str:
    """The page where a browser user enters their code, then returns to ``next_url``."""
    return f"{STEP_UP_URL}?{urlencode({'next': next_url})}"


def step_up_until(user: Any) -> datetime | None:
    if user.last_step_up_at is None:
        return None
    from datetime import timedelta

    return user.last_step_up_at + timedelta(seconds=settings.STEP_UP_WINDOW)


def step_up_verify(*, actor: Any, user: Any, code: str) -> datetime:
    """Check a TOTP code and open the step-up window; returns when the window closes."""
    if not user_has_2fa(user):
        raise ValidationError(
            {"otp": [_("Two-factor authentication is not on for your account; no step-up is needed.")]}
        )
    if verify_otp(user, code) is None:
        audit_log(
            actor=actor,
            action=AuditAction.STEP_UP,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"success": False},
        )
        raise ValidationError({"otp": [_("That code is not valid.")]})
    user.last_step_up_at = timezone.now()
    User.objects.filter(pk=user.pk).update(last_step_up_at=user.last_step_up_at)
    audit_log(
        actor=actor,
        action=AuditAction.STEP_UP,
        object_type="user",
        object_id=user.pk,
        object_repr=user.username,
        data={"success": True},
    )
    until = step_up_until(user)
    assert until is not None
    return until
