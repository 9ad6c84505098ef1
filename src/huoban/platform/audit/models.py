"""Append-only, hash-chained audit events."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    PURGE = "purge", _("Purged")
    MERGE = "merge", _("Merged")
    UNMERGE = "unmerge", _("Merge undone")
    TRANSFER = "transfer", _("Transferred")
    SHARE = "share", _("Shared")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGOUT = "logout", _("Logged out")
    TOKEN_CREATE = "token_create", _("API token created")
    TOKEN_REVOKE = "token_revoke", _("API token revoked")
    SESSION_REVOKE = "session_revoke", _("Session revoked")
    PERMISSION_CHANGE = "permission_change", _("Permissions changed")
    ROLE_CHANGE = "role_change", _("Role changed")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")
    REVEAL = "reveal", _("Sensitive field revealed")
    ACCESS_DENIED = "access_denied", _("Access denied")
    STEP_UP = "step_up", _("Step-up verification")
    TWO_FACTOR = "two_factor", _("Two-factor setting changed")
    PASSWORD_CHANGE = "password_change", _("Password changed")
    CLAIM = "claim", _("Claimed")
    RELEASE = "release", _("Released")
    ASSIGN = "assign", _("Assigned")
    MOVE = "move", _("Moved")
    CONVERT = "convert", _("Converted")
    OTHER = "other", _("Other")


class AuditEventQuerySet(models.QuerySet):
    """No update or delete through the ORM (raw SQL is what `huoban audit verify` detects)."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only")


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # DO_NOTHING: deleting a user must never rewrite (and so break) the hash chain.
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(max_length=150)  # username or "system:<name>"
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"]),
            models.Index(fields=["actor_name", "seq"]),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or not self._state.adding:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only")

    def content_for_hash(self) -> str:
        payload = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": str(self.object_id),
            "object_repr": self.object_repr,
            "changes": self.changes,
            "data": self.data,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)

    def compute_hash(self) -> str:
        return hashlib.sha256(self.content_for_hash().encode()).hexdigest()


class AuditChainHead(models.Model):
    """Single row holding the chain's last seq and hash; locked while appending."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"
