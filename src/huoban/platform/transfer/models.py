"""Import runs (staged: upload → map → preview → run → report → undo), templates, exports.

An import run keeps its source file, the mapping and options, counters, a checkpoint (the last
source row whose batch committed) and one ``ImportBatch`` per committed batch: the batch row is
written in the same transaction as the records, so it is both the crash-safety checkpoint and the
undo journal (ids created, previous values of records updated).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportTemplate(models.Model):
    """A named, reusable mapping (source column → field) plus options, per object type."""

    object_type = models.CharField(_("object type"), max_length=60, db_index=True)
    name = models.CharField(_("name"), max_length=120)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["object_type", "name"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "name"], name="import_template_name_unique")
        ]
        verbose_name = _("import template")
        verbose_name_plural = _("import templates")

    def __str__(self) -> str:
        return f"{self.object_type}: {self.name}"


class ImportRun(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Dedup(models.TextChoices):
        SKIP = "skip", _("Skip duplicates")
        UPDATE = "update", _("Update the existing record")
        CREATE = "create", _("Create anyway")

    object_type = models.CharField(_("object type"), max_length=60, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=500)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10)  # csv | xlsx | json | jsonl
    file_size = models.BigIntegerField(default=0)
    detected_encoding = models.CharField(_("detected encoding"), max_length=40, blank=True)
    encoding = models.CharField(_("encoding"), max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    sheets = models.JSONField(default=list, blank=True)
    sheet = models.CharField(_("sheet"), max_length=120, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    template = models.ForeignKey(
        ImportTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    dedup = models.CharField(_("duplicates"), max_length=8, choices=Dedup.choices, default=Dedup.SKIP)
    match_keys = models.JSONField(_("match keys"), default=list, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    progress = models.PositiveSmallIntegerField(default=0)
    read = models.BigIntegerField(default=0)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    blank = models.BigIntegerField(default=0)
    checkpoint_row = models.BigIntegerField(default=0)
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    undo_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_run_owner")]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"import #{self.pk} {self.object_type} {self.file_name} ({self.status})"

    @property
    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
        }

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def can_undo(self) -> bool:
        return (
            self.status == self.Status.DONE
            and not self.dry_run
            and self.undone_at is None
            and (self.created or self.updated) > 0
        )

    def option(self, name: str, default: Any = None) -> Any:
        return (self.options or {}).get(name, default)


class ImportBatch(models.Model):
    """One committed batch: the checkpoint and the undo journal, written with the records."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    first_row = models.BigIntegerField()
    last_row = models.BigIntegerField()
    created_ids = models.JSONField(default=list, blank=True)  # [[first_id, last_id], …]
    updated = models.JSONField(default=list, blank=True)  # [{"id", "before", "version"}, …]
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="import_batch_unique")]

    def __str__(self) -> str:
        return f"batch {self.seq} of import {self.run_id}: rows {self.first_row}–{self.last_row}"


class ImportRowIssue(models.Model):
    """A rejected row (with its original cells, for the error file) or a skipped duplicate."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", _("Rejected")
        SKIPPED = "skipped", _("Skipped")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    row = models.BigIntegerField(_("row"))
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REJECTED)
    errors = models.JSONField(default=list, blank=True)  # [{"column", "field", "message"}, …]
    raw = models.JSONField(default=list, blank=True)  # original cells (rejected rows only)

    class Meta:
        ordering = ["run", "row"]
        indexes = [models.Index(fields=["run", "kind", "row"], name="import_issue_run")]

    def __str__(self) -> str:
        return f"import {self.run_id} row {self.row}: {self.kind}"


class ImportSample(models.Model):
    """Random sample of imported rows (≈10 %, bounded) kept for side-by-side spot checks."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="samples")
    row = models.BigIntegerField()
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=10, default="created")
    rank = models.FloatField()
    source = models.JSONField(default=dict, blank=True)  # {column: cell}

    class Meta:
        ordering = ["run", "row"]
        indexes = [models.Index(fields=["run", "rank"], name="import_sample_rank")]

    def __str__(self) -> str:
        return f"import {self.run_id} row {self.row} → #{self.object_id}"


class ExportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    object_type = models.CharField(_("object type"), max_length=60, db_index=True)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices, default=Format.CSV)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    row_count = models.BigIntegerField(_("rows"), default=0)
    masked = models.BooleanField(default=True)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=500, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="export_run_owner")]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"export #{self.pk} {self.object_type} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
