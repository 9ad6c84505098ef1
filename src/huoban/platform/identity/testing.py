"""Test helpers for anything that touches 2FA or step-up (import them from tests only).

from huoban.platform.identity.testing import enrol_totp, totp_code, web_login

device = enrol_totp(user)                 # a confirmed TOTP device
api.post("/api/v1/me/step-up/", {"otp": totp_code(device)})
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def enrol_totp(user: Any, confirmed: bool = True) -> TOTPDevice:
    """Give ``user`` a TOTP device (confirmed by default) without the enrolment dance."""
    from .twofactor import DEVICE_NAME

    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=confirmed)


def totp_code(device: TOTPDevice) -> str:
    """The current code of ``device``, usable even if a code of this time step was used already
    (resets the device's replay guard and throttling, which real clients cannot do)."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(totp.token()).zfill(device.digits)


def wrong_code(device: TOTPDevice) -> str:
    good = int(totp_code(device))
    return str((good + 500_000) % 1_000_000).zfill(device.digits)


def web_login(client: Any, username: str, password: str | None = None, otp_device: Any = None) -> Any:
    """Sign in through the real /login/ page (and /login/otp/ when a device is given)."""
    response = client.post("/login/", {"username": username, "password": password or settings.DEMO_PASSWORD})
    if otp_device is not None:
        response = client.post("/login/otp/", {"otp": totp_code(otp_device)})
    return response
