"""TOTP two-factor enrolment and reset (django-otp)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log


def two_factor_reset(*, actor: Any, user: Any) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_log(
            actor=actor,
            action=AuditAction.TWO_FACTOR,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"reset": True},
        )
