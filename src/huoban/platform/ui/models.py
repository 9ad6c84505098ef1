"""UI state stored in the database: module switches and saved list views."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModuleSetting(models.Model):
    """An administrator's switch for a navigation module ("leads", "service" …).

    A module without a row is enabled. The settings page (module switches) edits these rows.
    """

    key = models.SlugField(_("module"), max_length=40, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name = _("module switch")
        verbose_name_plural = _("module switches")

    def __str__(self) -> str:
        return f"{self.key}: {'on' if self.enabled else 'off'}"


class SavedView(models.Model):
    """A named list state (filters, sort, columns) of one object type; personal or shared."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("user")
    )
    object_type = models.CharField(_("object type"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    query = models.CharField(_("query string"), max_length=2000, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    shared = models.BooleanField(_("shared"), default=False)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["object_type", "user"]),
            models.Index(fields=["object_type", "shared"]),
        ]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")

    def __str__(self) -> str:
        return self.name


from .models_search import SearchEntry  # noqa: E402,F401  (global search index, see search.py)
