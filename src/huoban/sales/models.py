"""Sales: pipelines with ordered stages, opportunities, stage history, stored sales reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huoban.platform.records.models import BaseRecord, localized


def month_key(day: Any) -> int:
    """202611 for any date or datetime in November 2026."""
    return day.year * 100 + day.month


class Pipeline(models.Model):
    """A sales process (several per company, e.g. per business line); administrators manage them."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    is_default = models.BooleanField(_("default"), default=False)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_zh_hans)


class StageType(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    type = models.CharField(_("type"), max_length=8, choices=StageType.choices, default=StageType.OPEN)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    # Opportunity fields (or "custom_fields.<key>", "contacts") that must be filled before entering.
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    max_dwell_days = models.PositiveIntegerField(_("maximum days in stage"), null=True, blank=True)
    # Second threshold: the manager is told after this many days (default: twice max_dwell_days).
    escalate_after_days = models.PositiveIntegerField(
        _("tell the manager after (days)"), null=True, blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "code"], name="sales_stage_code_unique")]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_zh_hans)

    @property
    def is_closed(self) -> bool:
        return self.type != StageType.OPEN

    def escalation_days(self) -> int | None:
        if self.escalate_after_days:
            return self.escalate_after_days
        return self.max_dwell_days * 2 if self.max_dwell_days else None


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    OMITTED = "omitted", _("Omitted")
    CLOSED = "closed", _("Closed")


class Opportunity(BaseRecord):
    object_type = "opportunity"
    resource = "opportunities"
    search_fields = ("name", "number")

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("customer"),
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="+", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("stage"))
    status = models.CharField(
        _("status"), max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # The amount in the company's base currency (reports add these up).
    amount_base = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"), editable=False)
    # Expected close date while open; the actual close date once won or lost.
    close_date = models.DateField(_("expected close date"), null=True, blank=True)
    # YYYYMM of created_at (local time) and of close_date: report GROUP BY keys in index order.
    created_month = models.PositiveIntegerField(default=0, editable=False)
    close_month = models.PositiveIntegerField(null=True, blank=True, editable=False)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    probability_manual = models.BooleanField(_("probability set by hand"), default=False)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    # Products of interest: [{"name", "quantity", "product" (id, once the catalog exists)}].
    products = models.JSONField(_("products of interest"), default=list, blank=True)
    competitors = models.JSONField(_("competitors"), default=list, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    source_lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        verbose_name=_("source lead"),
    )
    # Placeholder until the marketing module lands (then a foreign key to Campaign).
    campaign = models.BigIntegerField(_("campaign"), null=True, blank=True)
    close_reason = models.CharField(_("win/loss reason"), max_length=40, blank=True)
    close_note = models.TextField(_("win/loss details"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now, editable=False)
    # Highest stage position reached (won counts as past every open stage): funnel input.
    max_position = models.PositiveIntegerField(default=0, editable=False)
    stuck_since = models.DateTimeField(_("stuck since"), null=True, blank=True, editable=False)
    stuck_escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["owner", "-id"], name="opp_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="opp_unit_id"),
            models.Index(fields=["customer", "-id"], name="opp_customer"),
            models.Index(fields=["pipeline", "stage", "-id"], name="opp_board"),
            # Reports read these covering indexes only (partial: live rows), never the wide table,
            # and group in index order, so SQLite never sorts a million rows (see docs/sales.md).
            # Funnel: the cohort created in a month range, grouped by stage reached, status, source.
            models.Index(
                fields=[
                    "pipeline",
                    "created_month",
                    "max_position",
                    "status",
                    "source",
                    "created_at",
                    "amount_base",
                    "owner_unit",
                    "owner",
                    "deleted_at",
                ],
                condition=models.Q(deleted_at__isnull=True),
                name="opp_funnel",
            ),
            # Forecast: a close month range grouped by month, owner, unit, status, category.
            models.Index(
                fields=[
                    "close_month",
                    "owner",
                    "owner_unit",
                    "status",
                    "forecast_category",
                    "close_date",
                    "amount_base",
                    "probability",
                    "pipeline",
                    "deleted_at",
                ],
                condition=models.Q(deleted_at__isnull=True),
                name="opp_forecast",
            ),
            # Historical win rates: closed deals grouped by owner and unit (SQLite reads this one in
            # owner order; PostgreSQL prefers the range on closed_at below).
            models.Index(
                fields=[
                    "owner",
                    "owner_unit",
                    "status",
                    "closed_at",
                    "amount_base",
                    "pipeline",
                    "deleted_at",
                ],
                condition=models.Q(deleted_at__isnull=True),
                name="opp_win_rate",
            ),
            models.Index(
                fields=[
                    "closed_at",
                    "status",
                    "owner",
                    "owner_unit",
                    "amount_base",
                    "pipeline",
                    "deleted_at",
                ],
                condition=models.Q(deleted_at__isnull=True),
                name="opp_closed",
            ),
            models.Index(fields=["status", "stage", "stage_entered_at"], name="opp_dwell"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.created_month = month_key(timezone.localtime(self.created_at, timezone.get_default_timezone()))
        self.close_month = month_key(self.close_date) if self.close_date else None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "created_month", "close_month"}
        super().save(*args, **kwargs)

    @property
    def is_stuck(self) -> bool:
        return self.stuck_since is not None and self.status == OpportunityStatus.OPEN

    @property
    def stage_age(self) -> str:
        """ "12 days in this stage · stuck" (board cards)."""
        from django.utils.translation import gettext, ngettext

        days = max(0, (timezone.now() - self.stage_entered_at).days)
        text = ngettext("%(n)d day in this stage", "%(n)d days in this stage", days) % {"n": days}
        stuck = gettext("stuck")
        return f"{text} · {stuck}" if self.is_stuck else text

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount or Decimal("0")) * Decimal(self.probability or 0) / Decimal(100)


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    ECONOMIC_BUYER = "economic_buyer", _("Economic buyer")
    INFLUENCER = "influencer", _("Influencer")
    TECHNICAL = "technical", _("Technical evaluator")
    USER = "user", _("User")
    CHAMPION = "champion", _("Champion")
    OTHER = "other", _("Other")


class OpportunityContact(models.Model):
    """A contact involved in an opportunity, with their role."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey(
        "customers.Contact",
        on_delete=models.CASCADE,
        related_name="opportunity_links",
        verbose_name=_("contact"),
    )
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "contact"], name="sales_opp_contact_unique")
        ]
        verbose_name = _("opportunity contact")
        verbose_name_plural = _("opportunity contacts")

    def __str__(self) -> str:
        return f"{self.contact} ({self.role})"


class StageHistory(models.Model):
    """One stay of an opportunity in a stage: entered, left, time spent; backwards moves flagged.

    The opportunity's creation time, owner, unit, source and liveness are copied here (kept in
    step by the sales services and event handlers, re-checked nightly) so the funnel's cycle time
    per stage is one index-ordered pass over this table, filtered like the opportunities.
    """

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_history")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.BigIntegerField(null=True, blank=True)
    backwards = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    # copies of the opportunity's fields (report filters and data scope)
    opportunity_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    owner_unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    source = models.CharField(max_length=40, blank=True, editable=False)
    live = models.BooleanField(default=True, editable=False)  # the opportunity is not deleted

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "entered_at"], name="stage_hist_opp"),
            models.Index(fields=["entered_at", "from_stage"], name="stage_hist_entered"),
            # funnel cycle time: finished stays of live opportunities of a cohort, per stage
            models.Index(
                fields=[
                    "pipeline",
                    "opportunity_created_at",
                    "stage",
                    "duration_seconds",
                    "source",
                    "owner_unit",
                    "owner",
                    "live",
                    "left_at",
                ],
                condition=models.Q(live=True, left_at__isnull=False),
                name="stage_hist_cycle",
            ),
        ]
        verbose_name = _("stage history")
        verbose_name_plural = _("stage history")

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.stage_id} @ {self.entered_at:%Y-%m-%d}"


class SalesSettings(models.Model):
    """Company-wide sales settings (one row)."""

    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY")
    # {"USD": "7.10", "EUR": "7.80"}: units of base currency per unit of the currency.
    exchange_rates = models.JSONField(_("exchange rates"), default=dict, blank=True)
    funnel_warning_threshold = models.PositiveSmallIntegerField(
        _("warn when lead → opportunity conversion falls below (%)"), default=20
    )
    report_email = models.BooleanField(_("email the periodic sales reports"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return "sales settings"

    @classmethod
    def load(cls) -> SalesSettings:
        obj = cls.objects.filter(pk=1).first()
        if obj is None:
            obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def in_base(self, amount: Decimal | None, currency: str) -> Decimal:
        """``amount`` of ``currency`` in the base currency, to the cent (half-even, as everywhere)."""
        return ((amount or Decimal("0")) * self.rate(currency)).quantize(Decimal("0.01"))

    def rate(self, currency: str) -> Decimal:
        if not currency or currency == self.base_currency:
            return Decimal("1")
        raw = (self.exchange_rates or {}).get(currency)
        try:
            return Decimal(str(raw)) if raw not in (None, "") else Decimal("1")
        except Exception:
            return Decimal("1")


class ReportKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class SalesReport(models.Model):
    """A generated periodic sales report for one rep or one unit (stored; delivered; exportable)."""

    kind = models.CharField(_("kind"), max_length=8, choices=ReportKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_reports",
        verbose_name=_("sales rep"),
    )
    unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sales_reports",
        verbose_name=_("unit"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-period_start", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "user", "period_start"],
                condition=models.Q(unit__isnull=True),
                name="sales_report_user_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "unit", "period_start"],
                condition=models.Q(user__isnull=True),
                name="sales_report_unit_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(unit__isnull=False),
                name="sales_report_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-period_start"]),
            models.Index(fields=["unit", "-period_start"]),
        ]
        verbose_name = _("sales report")
        verbose_name_plural = _("sales reports")

    def __str__(self) -> str:
        who = self.user or self.unit
        return f"{self.get_kind_display()} {who} {self.period_start:%Y-%m-%d}"
