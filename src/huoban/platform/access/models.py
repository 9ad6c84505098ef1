from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Share(models.Model):
    """A record shared with a user or a unit, read-only or editable."""

    class Level(models.TextChoices):
        READ = "read", _("Read")
        EDIT = "edit", _("Edit")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    unit = models.ForeignKey(
        "identity.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.READ)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["content_type", "user"]),
            models.Index(fields=["content_type", "unit"]),
            models.Index(fields=["content_type", "object_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(unit__isnull=False), name="share_has_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model}#{self.object_id} → {self.user or self.unit} ({self.level})"
