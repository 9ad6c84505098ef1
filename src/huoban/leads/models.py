"""Leads: the lead record, its activity log, scoring and assignment rules, web forms, settings."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huoban.platform.records.models import BaseRecord


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    CONVERTED = "converted", _("Converted")


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


class Urgency(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class CompanySize(models.TextChoices):
    """Employee bands; the same codes as the customer's size, so conversion carries it over."""

    S1 = "1-19", _("1–19 employees")
    S20 = "20-99", _("20–99 employees")
    S100 = "100-499", _("100–499 employees")
    S500 = "500-999", _("500–999 employees")
    S1000 = "1000-9999", _("1,000–9,999 employees")
    S10000 = "10000+", _("10,000 employees or more")


class DedupPolicy(models.TextChoices):
    WARN = "warn", _("Warn and ask for confirmation")
    ATTACH = "attach", _("Attach to the existing record")
    CREATE = "create", _("Create anyway")


class Lead(BaseRecord):
    object_type = "lead"
    resource = "leads"
    search_fields = ("name", "company", "number", "phone", "email")

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    company_key = models.CharField(max_length=200, blank=True, editable=False)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    region = models.CharField(_("region"), max_length=12, blank=True)
    company_size = models.CharField(_("company size"), max_length=12, choices=CompanySize.choices, blank=True)
    industry = models.CharField(_("industry"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    # Placeholder until the marketing module lands (then a foreign key to Campaign).
    campaign = models.BigIntegerField(_("campaign"), null=True, blank=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.MEDIUM)
    budget = models.DecimalField(_("budget"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    requirement = models.TextField(_("requirement"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    unqualified_reason = models.CharField(_("reason (unqualified)"), max_length=300, blank=True)
    score = models.IntegerField(_("score"), default=0, editable=False)
    score_breakdown = models.JSONField(_("score breakdown"), default=list, blank=True, editable=False)
    web_form = models.ForeignKey(
        "leads.WebForm",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        verbose_name=_("web form"),
        editable=False,
    )
    # Dedup outcome: the existing customer this lead belongs to (attach policy) / possible duplicate.
    matched_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("matched customer"),
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("possible duplicate of"),
        editable=False,
    )
    # Conversion: what the lead became.
    converted_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_leads",
        verbose_name=_("converted customer"),
        editable=False,
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_leads",
        verbose_name=_("converted contact"),
        editable=False,
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("converted opportunity"),
        editable=False,
    )
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True, editable=False)
    # Assignment and first-contact SLA.
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True, editable=False)
    assignment_rule = models.ForeignKey(
        "leads.AssignmentRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    first_contacted_at = models.DateTimeField(_("first contacted at"), null=True, blank=True, editable=False)
    sla_due_at = models.DateTimeField(_("first contact due"), null=True, blank=True, editable=False)
    sla_overdue_at = models.DateTimeField(
        _("first contact overdue since"), null=True, blank=True, editable=False
    )
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "-id"], name="lead_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="lead_unit_id"),
            models.Index(fields=["status", "-id"], name="lead_status_id"),
            # funnel: GROUP BY source over live leads created in a period, in index order
            models.Index(
                fields=[
                    "source",
                    "created_at",
                    "status",
                    "owner_unit",
                    "owner",
                    "converted_opportunity",
                    "deleted_at",
                ],
                condition=models.Q(deleted_at__isnull=True),
                name="lead_funnel",
            ),
            models.Index(fields=["created_at", "owner"], name="lead_created"),
            models.Index(fields=["phone"], name="lead_phone"),
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["company_key"], name="lead_company_key"),
            models.Index(fields=["sla_due_at", "status"], name="lead_sla"),
            models.Index(fields=["-score", "-id"], name="lead_score"),
        ]

    def __str__(self) -> str:
        if self.name and self.company:
            return f"{self.name} · {self.company}"
        return self.name or self.company or self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def sla_overdue(self) -> bool:
        return self.sla_overdue_at is not None and self.first_contacted_at is None


class LeadActivity(models.Model):
    """Activity events on a lead (follow-ups, emails opened, form resubmissions…); scoring input."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    event = models.CharField(_("event"), max_length=60)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor_name = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "event", "at"], name="lead_activity_event")]
        verbose_name = _("lead activity")
        verbose_name_plural = _("lead activities")

    def __str__(self) -> str:
        return f"{self.event} on lead {self.lead_id}"


class FollowUpType(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", pgettext_lazy("follow-up type", "Email")
    WECHAT = "wechat", _("WeChat")
    NOTE = "note", _("Note")


class FollowUpResult(models.TextChoices):
    """Result of a follow-up on a lead: "won" converts the lead, "invalid" disqualifies it."""

    FOLLOWING = "following", pgettext_lazy("lead follow-up result", "Following up")
    WON = "won", pgettext_lazy("lead follow-up result", "Won")
    INVALID = "invalid", pgettext_lazy("lead follow-up result", "Invalid")


def lead_attachment_path(instance: LeadAttachment, filename: str) -> str:
    return f"attachments/leads/{timezone.now():%Y/%m}/{filename}"


class LeadAttachment(models.Model):
    """A file attached to a lead; copied to the customer on conversion."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=lead_attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=120, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class ScoringOperator(models.TextChoices):
    EQ = "eq", _("equals")
    NE = "ne", _("does not equal")
    IN = "in", _("is one of")
    GTE = "gte", _("at least")
    LTE = "lte", _("at most")
    CONTAINS = "contains", _("contains")
    IS_EMPTY = "is_empty", _("is empty")


class ScoringRule(models.Model):
    """Declarative scoring: a field condition or an activity event, worth ``points`` (may be negative).

    Field rule: {"field": "budget", "operator": "gte", "value": 500000, "points": 30}.
    Event rule: {"event": "email_opened", "points": 5} (once the event happened; with
    ``operator`` gte and ``value`` n: at least n times). The pseudo-event ``inactive_days`` with
    ``value`` n applies when the lead had no activity for n days.
    """

    name = models.CharField(_("name"), max_length=120)
    field = models.CharField(_("field"), max_length=80, blank=True)
    operator = models.CharField(
        _("operator"), max_length=10, choices=ScoringOperator.choices, default=ScoringOperator.EQ
    )
    value = models.JSONField(_("value"), null=True, blank=True)
    event = models.CharField(_("event"), max_length=60, blank=True)
    points = models.IntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return self.name


class AssignmentStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class AssignmentRule(models.Model):
    """Ordered (lower ``priority`` first) rules matching leads to a user or a team."""

    name = models.CharField(_("name"), max_length=120)
    priority = models.IntegerField(_("priority"), default=100)
    # {"region": [...], "company_size": [...], "urgency": [...], "source": [...], "industry": [...],
    #  "min_score": n}; an empty condition matches anything.
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    assign_to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assign to user"),
    )
    assign_to_unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assign to unit"),
    )
    strategy = models.CharField(
        _("strategy"),
        max_length=16,
        choices=AssignmentStrategy.choices,
        default=AssignmentStrategy.ROUND_ROBIN,
    )
    active = models.BooleanField(_("active"), default=True)
    last_assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self) -> str:
        return self.name


def _form_key() -> str:
    return secrets.token_urlsafe(12)


class WebForm(BaseRecord):
    """A public web-to-lead form: chosen fields, target source, thank-you text, embeddable snippet."""

    object_type = "web_form"
    resource = "web-forms"
    search_fields = ("name", "key")

    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(_("key"), max_length=40, unique=True, default=_form_key, editable=False)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=40, default="web_form")
    campaign = models.BigIntegerField(_("campaign"), null=True, blank=True)
    title = models.CharField(_("form title"), max_length=200, blank=True)
    thank_you_text = models.TextField(_("thank-you text"), blank=True)
    redirect_url = models.URLField(_("redirect after submission"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    submission_count = models.PositiveIntegerField(_("submissions"), default=0, editable=False)
    last_submission_at = models.DateTimeField(_("last submission"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        indexes = [
            models.Index(fields=["owner", "-id"], name="webform_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="webform_unit_id"),
        ]

    def __str__(self) -> str:
        return self.name


class LeadSettings(models.Model):
    """Company-wide lead settings (one row): dedup policy, first-contact SLA, working hours, queue."""

    dedup_policy = models.CharField(
        _("duplicate policy"), max_length=8, choices=DedupPolicy.choices, default=DedupPolicy.WARN
    )
    name_similarity = models.PositiveSmallIntegerField(_("company name similarity (0–100)"), default=85)
    sla_hours = models.DecimalField(
        _("first contact within (working hours)"), max_digits=6, decimal_places=2, default=Decimal("4")
    )
    work_start = models.TimeField(_("working day starts"), default="09:00")
    work_end = models.TimeField(_("working day ends"), default="18:00")
    work_days = models.JSONField(_("working days (1 = Monday)"), default=list, blank=True)
    holidays = models.JSONField(_("holidays (YYYY-MM-DD)"), default=list, blank=True)
    fallback_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("fallback user"),
    )
    fallback_unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("fallback queue (unit)"),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("lead settings")
        verbose_name_plural = _("lead settings")

    def __str__(self) -> str:
        return "lead settings"

    @classmethod
    def load(cls) -> LeadSettings:
        obj = cls.objects.filter(pk=1).first()
        if obj is None:
            obj, _created = cls.objects.get_or_create(pk=1, defaults={"work_days": [1, 2, 3, 4, 5]})
        return obj

    @property
    def working_days(self) -> list[int]:
        return list(self.work_days or [1, 2, 3, 4, 5])
