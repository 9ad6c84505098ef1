from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken

ENROLMENT_API_PREFIX = "/api/v1/me/2fa/"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; tokens are stored hashed and may expire or be revoked."""

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() not in ("bearer", "token"):
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header."))
        token = ApiToken.lookup(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        if not request.path.startswith(ENROLMENT_API_PREFIX):
            from .twofactor import enrolment_required

            if enrolment_required(token.user):
                # A token made before the user's role started requiring 2FA: enrol first.
                raise exceptions.PermissionDenied(
                    _("Your role requires two-factor authentication. Enrol in your profile first."),
                    code="2fa_enrolment_required",
                )
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
