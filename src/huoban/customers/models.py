"""Customers, contacts, follow-ups, addresses, public pools, duplicate groups and merges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huoban.platform.records.encryption import EncryptedTextField
from huoban.platform.records.models import BaseRecord


class Customer(BaseRecord):
    object_type = "customer"
    resource = "customers"
    sensitive_fields = ("id_number", "bank_account")
    search_fields = ("name", "short_name", "number", "phone", "email")
    audit_exclude = (
        *BaseRecord.audit_exclude,
        "name_key",
        "dedup_prefix",
        "dedup_suffix",
        "id_number_index",
        "bank_account_index",
    )

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        INDIVIDUAL = "individual", _("Individual")

    class Lifecycle(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        LOYAL = "loyal", _("Loyal")
        DORMANT = "dormant", _("Dormant")
        CHURNED = "churned", _("Churned")

    class Size(models.TextChoices):
        S1 = "1-19", _("1–19 employees")
        S20 = "20-99", _("20–99 employees")
        S100 = "100-499", _("100–499 employees")
        S500 = "500-999", _("500–999 employees")
        S1000 = "1000-9999", _("1,000–9,999 employees")
        S10000 = "10000+", _("10,000 employees or more")

    class RevenueBand(models.TextChoices):
        UNDER_1M = "under_1m", _("Under ¥1 million")
        M1_10 = "1m_10m", _("¥1–10 million")
        M10_50 = "10m_50m", _("¥10–50 million")
        M50_200 = "50m_200m", _("¥50–200 million")
        M200_1B = "200m_1b", _("¥200 million–1 billion")
        OVER_1B = "over_1b", _("Over ¥1 billion")

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.COMPANY)
    uscc = models.CharField(_("Unified Social Credit Code"), max_length=18, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=20, blank=True, db_index=True)
    size = models.CharField(_("size"), max_length=12, choices=Size.choices, blank=True)
    revenue_band = models.CharField(
        _("annual revenue"), max_length=12, choices=RevenueBand.choices, blank=True
    )
    region = models.CharField(_("region"), max_length=12, blank=True, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    phones = models.JSONField(_("other phones"), default=list, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    emails = models.JSONField(_("other emails"), default=list, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True, db_index=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=12, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted at"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up at"), null=True, blank=True)
    id_number = EncryptedTextField(_("ID card number"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    bank_account = EncryptedTextField(_("bank account"), blank=True)
    bank_account_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # duplicate detection: normalised name and blocking keys (see matching.py)
    name_key = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    dedup_prefix = models.CharField(max_length=24, blank=True, db_index=True, editable=False)
    dedup_suffix = models.CharField(max_length=24, blank=True, db_index=True, editable=False)
    # public pool (公海): a pool customer has no owner
    pool = models.ForeignKey(
        "customers.CustomerPool",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        verbose_name=_("public pool"),
        db_index=False,  # cust_pool_id (pool, -id) serves every lookup by pool
    )
    pooled_at = models.DateTimeField(_("in pool since"), null=True, blank=True, editable=False)
    # merge tombstones
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "-id"], name="cust_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="cust_unit_id"),
            models.Index(fields=["-created_at", "-id"], name="cust_created"),
            models.Index(fields=["name"], name="cust_name"),
            models.Index(fields=["pool", "-id"], name="cust_pool_id"),
            models.Index(fields=["lifecycle_stage", "-id"], name="cust_stage_id"),
            models.Index(fields=["next_follow_up_at"], name="cust_next_fu"),
            models.Index(fields=["last_contacted_at"], name="cust_last_contact"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerIdentifier(models.Model):
    """Every normalised phone and e-mail of a customer (primary and secondary), for exact
    duplicate lookups on create and import."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    # Derived data, rebuilt from the customer's own fields (like the search index): no foreign key
    # constraint, whose per-row check at commit cost PostgreSQL ~6 µs for each of the ~1.7
    # identifier rows an imported customer has, and no index of its own — the unique constraint
    # below starts with the customer. Deletes still cascade (Django's collector does that).
    # Decision 0008.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="identifiers",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=254)

    class Meta:
        indexes = [models.Index(fields=["kind", "value"], name="cust_ident_value")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "value"], name="cust_ident_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomerAddress(models.Model):
    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered address")
        OFFICE = "office", _("Office")
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.OFFICE)
    region = models.CharField(_("region"), max_length=12, blank=True)
    line = models.CharField(_("address"), max_length=300)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return self.line


class Contact(BaseRecord):
    object_type = "contact"
    resource = "contacts"
    search_fields = ("name", "mobile", "phone", "email", "wechat", "title")
    audit_exclude = (*BaseRecord.audit_exclude, "name_key")

    class DecisionRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        INFLUENCER = "influencer", _("Influencer")
        CHAMPION = "champion", _("Champion")
        USER = "user", _("User")
        GATEKEEPER = "gatekeeper", _("Gatekeeper")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")
        POST = "post", _("Post")

    name = models.CharField(_("name"), max_length=120)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_contacts",
        verbose_name=_("customer"),
    )
    customers = models.ManyToManyField(
        Customer, through="ContactCustomer", related_name="contacts", blank=True
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    phones = models.JSONField(_("other phones"), default=list, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    emails = models.JSONField(_("other emails"), default=list, blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    decision_role = models.CharField(
        _("decision role"), max_length=20, choices=DecisionRole.choices, blank=True
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=12, choices=Channel.choices, blank=True
    )
    # {"email": {"granted": true, "at": "2026-11-22T10:00:00+08:00", "source": "web form"}, …}
    consents = models.JSONField(_("marketing consent"), default=dict, blank=True)
    left_company = models.BooleanField(_("left the company"), default=False)
    left_at = models.DateField(_("left on"), null=True, blank=True)
    name_key = models.CharField(max_length=120, blank=True, db_index=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["owner", "-id"], name="contact_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="contact_unit_id"),
            models.Index(fields=["customer", "-id"], name="contact_customer_id"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactCustomer(models.Model):
    """A contact works with one or more customers; exactly one link is primary."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="customer_links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_links")
    is_primary = models.BooleanField(default=False)
    role = models.CharField(_("role"), max_length=120, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "customer"], name="contact_customer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.customer_id}"


class FollowUp(BaseRecord):
    """跟进记录: a call, visit, meeting, e-mail, WeChat message or note about a customer."""

    object_type = "follow_up"
    resource = "follow-ups"
    search_fields = ("content", "outcome")

    class Type(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", pgettext_lazy("follow-up type", "Email")
        WECHAT = "wechat", _("WeChat")
        NOTE = "note", _("Note")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        verbose_name=_("contact"),
    )
    type = models.CharField(_("type"), max_length=12, choices=Type.choices, default=Type.CALL)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    content = models.TextField(_("content"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="fu_customer_time"),
            models.Index(fields=["owner", "-id"], name="fu_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="fu_unit_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} · {self.occurred_at:%Y-%m-%d}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{timezone.now():%Y/%m}/{filename}"


class Attachment(models.Model):
    """A file attached to a follow-up (and through it, to the customer)."""

    follow_up = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
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


# --- public pool -------------------------------------------------------------------------------


class CustomerPool(models.Model):
    """公海: unowned customers that reps of the pool's unit may claim."""

    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(
        "identity.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customer_pools",
        verbose_name=_("unit"),
        help_text=_("Empty: the company-wide pool."),
    )
    release_after_days = models.PositiveIntegerField(
        _("release after days without follow-up"), null=True, blank=True
    )
    max_owned_per_rep = models.PositiveIntegerField(_("maximum customers per rep"), null=True, blank=True)
    claim_cooldown_days = models.PositiveIntegerField(_("cool-down before re-claiming (days)"), default=7)
    lifecycle_stages = models.JSONField(
        _("stages released automatically"),
        default=list,
        blank=True,
        help_text=_("Empty: every stage."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("public pool")
        verbose_name_plural = _("public pools")

    def __str__(self) -> str:
        return self.name


class PoolMove(models.Model):
    """History of claims and releases (cool-down and notifications read it)."""

    class Action(models.TextChoices):
        CLAIM = "claim", _("Claimed")
        RELEASE = "release", _("Released")
        AUTO_RELEASE = "auto_release", _("Released automatically")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="pool_moves")
    pool = models.ForeignKey(CustomerPool, on_delete=models.CASCADE, related_name="moves")
    action = models.CharField(max_length=16, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="claim: the new owner; release: the previous owner",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "user", "-at"], name="poolmove_cust_user")]

    def __str__(self) -> str:
        return f"{self.action} {self.customer_id} ({self.at:%Y-%m-%d})"


# --- duplicates --------------------------------------------------------------------------------


class DuplicateGroup(models.Model):
    """Records that are likely the same customer (or contact), found by the scan."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Different records")
        MERGED = "merged", _("Merged")

    object_type = models.CharField(max_length=20, default="customer")
    key = models.CharField(max_length=64, editable=False)
    score = models.FloatField(default=0)
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    member_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "-id"]
        constraints = [models.UniqueConstraint(fields=["object_type", "key"], name="dup_group_key_unique")]
        indexes = [models.Index(fields=["object_type", "status", "-score"], name="dup_group_status")]

    def __str__(self) -> str:
        return f"{self.object_type} duplicates {self.member_ids} ({self.score:.2f})"


class DuplicateMember(models.Model):
    group = models.ForeignKey(DuplicateGroup, on_delete=models.CASCADE, related_name="members")
    object_id = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "object_id"], name="dup_member_unique")]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.object_id}"


class DuplicateDismissal(models.Model):
    """ "These are different records": the pair is never reported again."""

    object_type = models.CharField(max_length=20, default="customer")
    low_id = models.BigIntegerField()
    high_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "low_id", "high_id"], name="dup_dismissal_unique")
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.low_id} ≠ {self.high_id}"


# --- merges ------------------------------------------------------------------------------------


class Merge(models.Model):
    """One merge of customers (or contacts): everything needed to undo it within 30 days."""

    object_type = models.CharField(max_length=20, default="customer")
    survivor_id = models.BigIntegerField(db_index=True)
    absorbed_ids = models.JSONField(default=list)
    choices = models.JSONField(default=dict, blank=True)
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    tags_before = models.JSONField(default=list)
    moves = models.JSONField(default=list)  # [{"model", "field", "rows": [[pk, old_value], …]}]
    removed = models.JSONField(default=list)  # rows deleted to respect unique constraints
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.object_type} merge #{self.pk}: {self.absorbed_ids} → {self.survivor_id}"
