"""TOTP two-factor authentication (django-otp): enrolment, verification, disable, reset.

Enrolment is two steps: ``two_factor_start`` creates an *unconfirmed* TOTP device and returns
the ``otpauth://`` URI plus a QR code (inline SVG, generated here — no external service);
``two_factor_confirm`` checks one code from the authenticator app and confirms the device. Only
confirmed devices count for login, tokens and step-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import PermissionDeniedError, ValidationError

DEVICE_NAME = "authenticator"


@dataclass
class Enrolment:
    device: TOTPDevice
    otpauth_uri: str
    secret: str  # base32, for typing into an app by hand
    qr_svg: str  # inline <svg> markup


def user_has_2fa(user: Any) -> bool:
    """True when the user has at least one confirmed TOTP device."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def two_factor_required(user: Any) -> bool:
    """One of the user's roles has ``require_2fa``."""
    from huoban.platform.access.scoping import grants_for

    return grants_for(user).require_2fa


def enrolment_required(user: Any) -> bool:
    """The user must enrol before doing anything else (role requires 2FA, none confirmed yet)."""
    return two_factor_required(user) and not user_has_2fa(user)


def verify_otp(user: Any, code: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``code`` (throttled by django-otp), else None."""
    code = (code or "").strip().replace(" ", "")
    if not code or user is None or user.pk is None:
        return None
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True):
            if device.verify_token(code):
                return device
    return None


def _secret_b32(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode().rstrip("=")


def provisioning_uri(device: TOTPDevice) -> str:
    """``otpauth://totp/Issuer:username?secret=…&issuer=…`` (Key URI format)."""
    issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "Huoban CRM").replace(":", "")
    label = f"{quote(issuer)}:{quote(device.user.get_username())}"
    params = urlencode(
        {"secret": _secret_b32(device), "algorithm": "SHA1", "digits": device.digits, "period": device.step}
    )
    return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


def qr_svg(data: str) -> str:
    """A QR code as inline SVG markup (no style attributes, so the page's CSP allows it)."""
    import qrcode
    from qrcode.image.svg import SvgPathFillImage

    img = qrcode.make(data, image_factory=SvgPathFillImage, box_size=10, border=2)
    svg = img.to_string(encoding="unicode")
    # Drop the XML declaration when present; add accessibility attributes.
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2 :].lstrip()
    from django.utils.html import escape

    label = escape(_("QR code for your authenticator app"))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="huoban-qr" ', 1).replace(
        ' id="qr-path"', ""
    )


def pending_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=False, name=DEVICE_NAME).first()


def enrolment_for(device: TOTPDevice) -> Enrolment:
    uri = provisioning_uri(device)
    return Enrolment(device=device, otpauth_uri=uri, secret=_secret_b32(device), qr_svg=qr_svg(uri))


def two_factor_start(*, actor: Any, user: Any) -> Enrolment:
    """Begin enrolment: a fresh unconfirmed device (any earlier unconfirmed one is replaced)."""
    if user_has_2fa(user):
        raise ValidationError(
            {"non_field_errors": [_("Two-factor authentication is already on. Turn it off first.")]}
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return enrolment_for(device)


def two_factor_confirm(*, actor: Any, user: Any, code: str) -> TOTPDevice:
    """Finish enrolment with one code from the app; the device becomes active."""
    device = pending_device(user)
    if device is None:
        raise ValidationError({"otp": [_("Start the set-up first.")]})
    code = (code or "").strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        ok = bool(code) and device.verify_token(code)  # a failure is recorded (throttling)
    if not ok:
        raise ValidationError({"otp": [_("That code is not valid. Check the time on your phone.")]})
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_log(
            actor=actor,
            action=AuditAction.TWO_FACTOR,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"enabled": True},
        )
    return device


def two_factor_disable(*, actor: Any, user: Any, code: str) -> None:
    """Turn 2FA off with a current code. Refused when a role of the user requires 2FA."""
    if not user_has_2fa(user):
        raise ValidationError({"non_field_errors": [_("Two-factor authentication is not on.")]})
    if two_factor_required(user):
        raise PermissionDeniedError(
            _("Your role requires two-factor authentication; it cannot be turned off."),
            code="2fa_required",
        )
    if verify_otp(user, code) is None:
        raise ValidationError({"otp": [_("That code is not valid.")]})
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        audit_log(
            actor=actor,
            action=AuditAction.TWO_FACTOR,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"enabled": False},
        )


def two_factor_reset(*, actor: Any, user: Any) -> None:
    """Administrator action: remove every device of ``user`` (they enrol again at next login)."""
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
