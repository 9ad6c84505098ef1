"""Writes on users, org units and roles — audited, like every other write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.access.scoping import forget_grants
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log, plain
from huoban.platform.errors import ValidationError

from .actors import Actor
from .models import SCOPE_RANK, ApiToken, OrgUnit, Role, User, UserSession

USER_FIELDS = (
    "username",
    "email",
    "display_name",
    "first_name",
    "last_name",
    "phone",
    "language",
    "time_zone",
    "is_active",
    "primary_unit",
    "absent_until",
)


def _validate_password(password: str, user: User, field: str = "password") -> None:
    """The password policy (AUTH_PASSWORD_VALIDATORS: ≥12 chars, not common, not like the user)."""
    if not password:
        raise ValidationError({field: [_("This field is required.")]})
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError({field: list(exc.messages)})


def user_create(
    *, actor: Actor, username: str, password: str | None = None, roles: Iterable[Role] = (), **fields: Any
) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": [_("This field is required.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [_("A user with that username already exists.")]})
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationError({k: [_("Unknown field.")] for k in unknown})
    user = User(username=username, **fields)
    if password:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        role_list = list(roles)
        if role_list:
            user.roles.set(role_list)
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            changes={
                **{f: [None, plain(getattr(user, f + "_id" if f == "primary_unit" else f))] for f in fields},
                "roles": [None, sorted(r.code for r in role_list)],
            },
        )
    return user


def user_update(*, actor: Actor, user: User, **fields: Any) -> User:
    unknown = set(fields) - set(USER_FIELDS)
    if unknown:
        raise ValidationError({k: [_("Unknown field.")] for k in unknown})
    changes = {}
    for k, v in fields.items():
        attr = "primary_unit_id" if k == "primary_unit" else k
        new = v.pk if k == "primary_unit" and v is not None else v
        old = getattr(user, attr)
        if old != new:
            changes[k] = [plain(old), plain(new)]
            setattr(user, attr, new)
    if not changes:
        return user
    with transaction.atomic():
        user.save()
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            changes=changes,
        )
        if "is_active" in changes and not user.is_active:
            _end_all_sessions(user)
    return user


def user_set_password(*, actor: Actor, user: User, password: str) -> None:
    _validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_log(
        actor=actor,
        action=AuditAction.PASSWORD_CHANGE,
        object_type="user",
        object_id=user.pk,
        object_repr=user.username,
    )


def user_set_roles(*, actor: Actor, user: User, roles: Iterable[Role]) -> None:
    new = sorted({r.code for r in roles})
    old = sorted(user.roles.values_list("code", flat=True))
    if new == old:
        return
    with transaction.atomic():
        user.roles.set(list(roles))
        audit_log(
            actor=actor,
            action=AuditAction.PERMISSION_CHANGE,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            changes={"roles": [old, new]},
        )
    forget_grants(user)


def _validate_role_payload(permissions: dict[str, Any] | None, scopes: dict[str, Any] | None) -> None:
    from .presets import ALL_ACTIONS

    errors: dict[str, list[str]] = {}
    if permissions is not None:
        if not isinstance(permissions, dict) or not all(isinstance(v, list) for v in permissions.values()):
            errors["permissions"] = [_("Expected {object_type: [actions]}.")]
        else:
            bad = sorted({a for v in permissions.values() for a in v if a not in ALL_ACTIONS})
            if bad:
                errors["permissions"] = [_("Unknown actions: %(a)s.") % {"a": ", ".join(bad)}]
    if scopes is not None:
        if not isinstance(scopes, dict) or any(v not in SCOPE_RANK for v in scopes.values()):
            errors["scopes"] = [_("Each scope must be one of own, unit, unit_tree, all, none.")]
    if errors:
        raise ValidationError(errors)


def role_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    permissions: dict | None = None,
    scopes: dict | None = None,
    **fields: Any,
) -> Role:
    _validate_role_payload(permissions, scopes)
    if Role.objects.filter(code=code).exists():
        raise ValidationError({"code": [_("A role with this code already exists.")]})
    with transaction.atomic():
        role = Role.objects.create(
            code=code, name=name, permissions=permissions or {}, scopes=scopes or {}, **fields
        )
        audit_log(
            actor=actor,
            action=AuditAction.ROLE_CHANGE,
            object_type="role",
            object_id=role.pk,
            object_repr=role.code,
            changes={"permissions": [None, role.permissions], "scopes": [None, role.scopes]},
        )
    return role


def role_update(*, actor: Actor, role: Role, version: int | None = None, **fields: Any) -> Role:
    _validate_role_payload(fields.get("permissions"), fields.get("scopes"))
    from huoban.platform.errors import ConflictError

    with transaction.atomic():
        locked = Role.objects.select_for_update().get(pk=role.pk)
        if version is not None and int(version) != locked.version:
            raise ConflictError(current_version=locked.version)
        changes = {}
        for k, v in fields.items():
            if getattr(locked, k) != v:
                changes[k] = [getattr(locked, k), v]
                setattr(locked, k, v)
        if changes:
            locked.version += 1
            locked.save()
            audit_log(
                actor=actor,
                action=AuditAction.ROLE_CHANGE,
                object_type="role",
                object_id=locked.pk,
                object_repr=locked.code,
                changes=changes,
            )
    return locked


def role_delete(*, actor: Actor, role: Role) -> None:
    if role.is_preset:
        raise ValidationError(_("Preset roles cannot be deleted."))
    with transaction.atomic():
        audit_log(
            actor=actor,
            action=AuditAction.ROLE_CHANGE,
            object_type="role",
            object_id=role.pk,
            object_repr=role.code,
            data={"deleted": True},
        )
        role.delete()


def _refresh_paths(unit: OrgUnit) -> None:
    unit.path = unit.compute_path()
    OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
    for child in OrgUnit.objects.filter(parent=unit):
        child.parent = unit
        _refresh_paths(child)


def unit_create(
    *,
    actor: Actor,
    name: str,
    code: str,
    parent: OrgUnit | None = None,
    kind: str = "department",
    manager: User | None = None,
) -> OrgUnit:
    if OrgUnit.objects.filter(code=code).exists():
        raise ValidationError({"code": [_("A unit with this code already exists.")]})
    with transaction.atomic():
        unit = OrgUnit.objects.create(name=name, code=code, parent=parent, kind=kind, manager=manager)
        _refresh_paths(unit)
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="org_unit",
            object_id=unit.pk,
            object_repr=unit.name,
            changes={
                "name": [None, name],
                "parent": [None, getattr(parent, "pk", None)],
                "manager": [None, getattr(manager, "pk", None)],
            },
        )
    return unit


def unit_update(*, actor: Actor, unit: OrgUnit, **fields: Any) -> OrgUnit:
    changes = {}
    parent = fields.get("parent", unit.parent)
    if "parent" in fields and parent is not None:
        if parent.pk == unit.pk or parent.path.startswith(unit.path):
            raise ValidationError({"parent": [_("A unit cannot be moved below itself.")]})
    with transaction.atomic():
        for k, v in fields.items():
            attr = f"{k}_id" if k in ("parent", "manager") else k
            new = v.pk if k in ("parent", "manager") and v is not None else v
            if getattr(unit, attr) != new:
                changes[k] = [getattr(unit, attr), new]
                setattr(unit, attr, new)
        if changes:
            unit.save()
            if "parent" in changes:
                unit.refresh_from_db()
                _refresh_paths(unit)
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="org_unit",
                object_id=unit.pk,
                object_repr=unit.name,
                changes=changes,
            )
    return unit


def token_create(
    *, actor: Actor, user: User, name: str = "API", days: int | None = None
) -> tuple[ApiToken, str]:
    """Create an API token; returns (token, raw secret). The secret is never stored."""
    from datetime import timedelta

    from django.conf import settings

    raw, prefix, key_hash = ApiToken.generate()
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    expires = timezone.now() + timedelta(days=days) if days else None
    token = ApiToken.objects.create(
        user=user, name=name[:120] or "API", prefix=prefix, key_hash=key_hash, expires_at=expires
    )
    audit_log(
        actor=actor,
        action=AuditAction.TOKEN_CREATE,
        object_type="api_token",
        object_id=token.pk,
        object_repr=f"{user.username}:{token.name}",
        data={"expires_at": expires.isoformat() if expires else None},
    )
    return token, raw


def token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(
            actor=actor,
            action=AuditAction.TOKEN_REVOKE,
            object_type="api_token",
            object_id=token.pk,
            object_repr=f"{token.user.username}:{token.name}",
        )


def session_revoke(*, actor: Actor, session: UserSession) -> None:
    Session.objects.filter(session_key=session.session_key).delete()
    audit_log(
        actor=actor,
        action=AuditAction.SESSION_REVOKE,
        object_type="user",
        object_id=session.user_id,
        object_repr=session.user.username,
        data={"session": session.session_key[:6]},
    )
    session.delete()


def session_ended(request: Any, reason: str) -> None:
    if request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


def _end_all_sessions(user: User) -> None:
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _end_other_sessions(user: User, keep: str | None = None) -> None:
    """End every browser session of ``user`` except ``keep`` (the current one)."""
    qs = UserSession.objects.filter(user=user)
    if keep:
        qs = qs.exclude(session_key=keep)
    keys = list(qs.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()


# --- passwords ------------------------------------------------------------------------------------


def password_change(
    *, actor: Actor, user: User, old_password: str, new_password: str, keep_session: str | None = None
) -> None:
    """The user changes their own password; other browser sessions end (API tokens stay)."""
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": [_("Your old password was entered incorrectly.")]})
    _validate_password(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _end_other_sessions(user, keep=keep_session)
        audit_log(
            actor=actor,
            action=AuditAction.PASSWORD_CHANGE,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"via": "change"},
        )


def password_reset_request(*, email: str, base_url: str) -> int:
    """Mail a reset link to every active user with this address. Callers always answer the same
    way (no user enumeration); returns the number of mails sent, for tests and logs only."""
    import logging

    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from .actors import SystemActor

    email = (email or "").strip()
    if not email or "@" not in email:
        return 0
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True, is_system=False):
        if not user.has_usable_password():
            continue
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        context = {
            "user": user,
            "link": f"{base_url.rstrip('/')}/password-reset/{uid}/{token}/",
            "uid": uid,
            "token": token,
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        }
        with translation.override(user.language or translation.get_language() or settings.LANGUAGE_CODE):
            subject = " ".join(render_to_string("identity/email/password_reset_subject.txt", context).split())
            body = render_to_string("identity/email/password_reset_body.txt", context)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        except Exception:  # a mail failure must not tell the caller whether the address exists
            logging.getLogger("huoban.identity").exception("password reset mail to user %s failed", user.pk)
            continue
        sent += 1
        audit_log(
            actor=SystemActor("auth"),
            action=AuditAction.OTHER,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"event": "password_reset_requested"},
        )
    return sent


def password_reset_user(uid: str, token: str) -> User | None:
    """The user a reset link belongs to, when the link is valid and not expired."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_decode

    try:
        pk = urlsafe_base64_decode(uid or "").decode()
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first() if pk.isdigit() else None
    if user is None or not default_token_generator.check_token(user, token or ""):
        return None
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link; ends the user's sessions and clears any lockout."""
    from .lockout import unlock_user

    user = password_reset_user(uid, token)
    if user is None:
        raise ValidationError({"token": [_("This password reset link is invalid or has expired.")]})
    _validate_password(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _end_other_sessions(user)
        audit_log(
            actor=user,
            action=AuditAction.PASSWORD_CHANGE,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            data={"via": "reset"},
        )
    unlock_user(user.username)
    return user
