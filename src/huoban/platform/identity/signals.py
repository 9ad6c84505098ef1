from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from huoban.platform.audit.middleware import client_ip
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log

from .actors import SystemActor


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .models import UserSession

    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session["huoban_started"] = now
        request.session["huoban_last_seen"] = now
        if request.session.session_key is None:
            request.session.save()
        UserSession.objects.update_or_create(
            session_key=request.session.session_key,
            defaults={
                "user": user,
                "ip": client_ip(request),
                "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
            },
        )
    audit_log(
        actor=user, action=AuditAction.LOGIN, object_type="user", object_id=user.pk, object_repr=user.username
    )


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .models import UserSession

    if request is not None and getattr(request, "session", None) is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    if user is not None:
        audit_log(
            actor=user,
            action=AuditAction.LOGOUT,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
        )


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Every refused sign-in (password, OTP code at login, lockout) lands in the audit trail.

    Axes' receiver runs first (its app is listed earlier), so ``axes_locked_out`` tells whether
    this attempt was refused by, or caused, a lockout.
    """
    username = str(credentials.get("username", ""))[:150]
    data: dict[str, Any] = {"username": username, "stage": kwargs.get("stage") or "password"}
    if request is not None and getattr(request, "axes_locked_out", False):
        data["locked_out"] = True
    if request is not None:
        data["path"] = str(getattr(request, "path", ""))[:200]
    audit_log(
        actor=SystemActor("auth"),
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        object_repr=username,
        data=data,
    )
