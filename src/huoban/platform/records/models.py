"""The base of every business record, plus tags, custom field definitions, numbering, picklists."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import check_door


def localized(label: str, label_zh_hans: str) -> str:
    """The Chinese label when the active language is Chinese and one is set, else the label."""
    if label_zh_hans and (get_language() or "").lower().startswith("zh"):
        return label_zh_hans
    return label


class RecordQuerySet(models.QuerySet):
    """Querysets of business records remember whether they came through the door (scoped())."""

    _huoban_scoped = False

    def _mark_scoped(self) -> RecordQuerySet:
        self._huoban_scoped = True
        return self

    def unrestricted(self) -> RecordQuerySet:
        """Explicitly bypass data scopes (system jobs, services that already checked access)."""
        return self._chain()._mark_scoped()  # type: ignore[attr-defined]

    def alive(self) -> RecordQuerySet:
        return self.filter(deleted_at__isnull=True)

    def _clone(self) -> RecordQuerySet:  # type: ignore[misc]
        c = super()._clone()  # type: ignore[misc]
        c._huoban_scoped = self._huoban_scoped
        return c

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            check_door(self)
        super()._fetch_all()

    def count(self) -> int:
        if self._result_cache is None:
            check_door(self)
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            check_door(self)
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        check_door(self)
        return super().aggregate(*args, **kwargs)

    def iterator(self, chunk_size: int | None = None):  # type: ignore[override]
        check_door(self)
        return super().iterator(chunk_size=chunk_size)


RecordManager = models.Manager.from_queryset(RecordQuerySet)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    color = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaggedItem(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id", "tag"], name="tagged_item_unique")
        ]
        indexes = [models.Index(fields=["content_type", "tag", "object_id"])]

    def __str__(self) -> str:
        return f"{self.tag} on {self.content_type_id}#{self.object_id}"


class BaseRecord(models.Model):
    """Owner, owner unit, created/updated by/at, version, custom fields, tags, soft deletion.

    Subclasses set ``object_type`` (e.g. "customer") and are registered automatically.

    The foreign keys carry no single-column index (decision 0005): every subclass declares
    composite ``(owner, -id)`` / ``(owner_unit, -id)`` indexes that serve the scoped lists and
    the PROTECT checks, and the who-columns (created/updated/deleted by) are never filtered on
    a hot path; each index would cost every insert and update of a million-row table.
    """

    object_type: str = ""
    resource: str = ""  # plural kebab-case for API and pages, e.g. "customers"
    sensitive_fields: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ()
    audit_exclude: tuple[str, ...] = ("updated_at", "updated_by", "version", "search_text")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
        db_index=False,
    )
    owner_unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner unit"),
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_constraint=False,
        verbose_name=_("created by"),
        db_index=False,
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_constraint=False,
        verbose_name=_("updated by"),
        db_index=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_constraint=False,
        db_index=False,
    )
    tagged_items = GenericRelation(TaggedItem)

    objects = RecordManager()

    class Meta:
        abstract = True

    @property
    def tag_names(self) -> list[str]:
        cached = self.__dict__.get("_tag_names")
        if cached is not None:
            return cached
        names = sorted(ti.tag.name for ti in self.tagged_items.all())
        self._tag_names = names
        return names

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes/No")
    SINGLE_SELECT = "single_select", _("Single select")
    MULTI_SELECT = "multi_select", _("Multi select")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    URL = "url", _("URL")
    USER = "user", _("User")


class CustomField(models.Model):
    object_type = models.CharField(_("object type"), max_length=60, db_index=True)
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=120)
    label_zh_hans = models.CharField(_("label (Chinese)"), max_length=120, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=CustomFieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default"), null=True, blank=True)
    # options: [{"value": "a", "label": "A", "label_zh_hans": "甲"}] or plain strings
    options = models.JSONField(_("options"), default=list, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    order = models.IntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["object_type", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["object_type", "key"], name="custom_field_key_unique")]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return f"{self.object_type}.{self.key}"

    def display_label(self) -> str:
        return localized(self.label, self.label_zh_hans)

    def option_values(self) -> list[str]:
        return [o["value"] if isinstance(o, dict) else str(o) for o in self.options or []]


class NumberingRule(models.Model):
    """Human-facing numbers such as CUST20261122-0001: prefix + date + serial, gap-free per period."""

    object_type = models.CharField(_("object type"), max_length=60, unique=True)
    prefix = models.CharField(_("prefix"), max_length=20)
    date_pattern = models.CharField(_("date pattern"), max_length=20, default="%Y%m%d", blank=True)
    separator = models.CharField(_("separator"), max_length=3, default="-", blank=True)
    serial_length = models.PositiveSmallIntegerField(_("serial length"), default=4)

    class Meta:
        verbose_name = _("numbering rule")
        verbose_name_plural = _("numbering rules")

    def __str__(self) -> str:
        return f"{self.object_type}: {self.preview()}"

    def period_key(self, when: Any = None) -> str:
        when = timezone.localtime(when or timezone.now())
        return when.strftime(self.date_pattern) if self.date_pattern else ""

    def format(self, period: str, serial: int) -> str:
        return f"{self.prefix}{period}{self.separator}{serial:0{self.serial_length}d}"

    def preview(self) -> str:
        return self.format(self.period_key(), 1)


class NumberSequence(models.Model):
    rule = models.ForeignKey(NumberingRule, on_delete=models.CASCADE, related_name="sequences")
    period = models.CharField(max_length=20)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "period"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.rule.object_type} {self.period}: {self.last}"


class Picklist(models.Model):
    """A configurable list of values (industries, regions, sources …); data, not code."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    hierarchical = models.BooleanField(default=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class PicklistValue(models.Model):
    picklist = models.ForeignKey(Picklist, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=160)
    label_zh_hans = models.CharField(_("label (Chinese)"), max_length=160, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    aliases = models.JSONField(default=list, blank=True)  # other spellings for matching imports
    order = models.IntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["picklist", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["picklist", "code"], name="picklist_value_unique")]

    def __str__(self) -> str:
        return self.display_label()

    def display_label(self) -> str:
        return localized(self.label, self.label_zh_hans)


def attach_tags(objs: list[Any]) -> list[Any]:
    """Load the tags of many records in one query (cheaper than a generic prefetch)."""
    if not objs:
        return objs
    by_model: dict[type, list[Any]] = {}
    for o in objs:
        by_model.setdefault(type(o), []).append(o)
    for model, items in by_model.items():
        ct = ContentType.objects.get_for_model(model)
        names: dict[int, list[str]] = {o.pk: [] for o in items}
        rows = TaggedItem.objects.filter(content_type=ct, object_id__in=list(names)).values_list(
            "object_id", "tag__name"
        )
        for object_id, name in rows:
            names.setdefault(object_id, []).append(name)
        for o in items:
            o._tag_names = sorted(names.get(o.pk, []))
    return objs
