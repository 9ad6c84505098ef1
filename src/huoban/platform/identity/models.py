"""Users, org units (a tree), roles with function permissions and data scopes, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """Data scope of a role on one object type. Order matters: wider scopes come later."""

    NONE = "none", _("None")
    OWN = "own", _("Own")
    UNIT = "unit", _("Unit")
    UNIT_TREE = "unit_tree", _("Unit and below")
    ALL = "all", _("All")


SCOPE_RANK = {Scope.NONE: 0, Scope.OWN: 1, Scope.UNIT: 2, Scope.UNIT_TREE: 3, Scope.ALL: 4}


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Add")
    CHANGE = "change", _("Change")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    ASSIGN = "assign", _("Assign")
    MERGE = "merge", _("Merge")
    APPROVE = "approve", _("Approve")
    VIEW_SENSITIVE = "view_sensitive", _("View sensitive fields")
    MANAGE = "manage", _("Manage")


class OrgUnit(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        REGION = "region", _("Region")
        DEPARTMENT = "department", _("Department")
        TEAM = "team", _("Team")

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    manager = models.ForeignKey(
        "identity.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_units",
        verbose_name=_("manager"),
    )
    # Materialised path "/1/4/9/" for cheap subtree queries; maintained by services.unit_* functions.
    path = models.CharField(max_length=500, db_index=True, editable=False, default="")
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["path"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name

    def compute_path(self) -> str:
        parent_path = self.parent.path if self.parent_id and self.parent else "/"
        return f"{parent_path}{self.pk}/"

    @staticmethod
    def subtree_ids(units: Iterable[OrgUnit]) -> list[int]:
        """Ids of ``units`` and every unit below them (one prefix query on the materialised path)."""
        below = models.Q()
        ids: set[int] = set()
        for unit in units:
            ids.add(unit.pk)
            if unit.path:
                below |= models.Q(path__startswith=unit.path)
        if below:
            ids.update(OrgUnit.objects.filter(below).values_list("pk", flat=True))
        return sorted(ids)


class Role(models.Model):
    """Function permissions and a data scope per object type.

    ``permissions`` maps object type -> list of actions, e.g. {"customer": ["view", "add"]}.
    ``scopes`` maps object type -> scope, e.g. {"customer": "own"}. "*" applies to every type.
    """

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_preset = models.BooleanField(default=False, editable=False)
    require_2fa = models.BooleanField(_("require two-factor authentication"), default=False)
    permissions = models.JSONField(default=dict, blank=True)
    scopes = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    def actions_for(self, object_type: str) -> set[str]:
        return set(self.permissions.get(object_type, [])) | set(self.permissions.get("*", []))


class HuobanUserManager(UserManager["User"]):
    pass


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    primary_unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("unit"),
    )
    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name=_("roles"))
    is_system = models.BooleanField(default=False, editable=False)
    absent_until = models.DateTimeField(_("absent until"), null=True, blank=True)
    last_step_up_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[HuobanUserManager] = HuobanUserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def reading_language(self) -> str:
        """The language to write to this user in when no request is there to say (mail, jobs)."""
        from django.conf import settings

        return self.language or settings.LANGUAGE_CODE

    @property
    def label(self) -> str:
        return str(self)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """Bearer token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=120, default="API")
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        raw = "hb_" + secrets.token_urlsafe(32)
        return raw, raw[:10], _hash_token(raw)

    @classmethod
    def lookup(cls, raw: str) -> ApiToken | None:
        token = cls.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
        if token is None or not token.is_valid:
            return None
        return token

    @property
    def is_valid(self) -> bool:
        if self.revoked_at is not None:
            return False
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return False
        return self.user.is_active


class UserSession(models.Model):
    """Index of a user's browser sessions so users can list and revoke them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.session_key[:6]}…"


def user_summary(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}
