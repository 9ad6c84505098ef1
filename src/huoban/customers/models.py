"""Customers (minimal platform slice; the customers issue grows this into the full 360° model)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from huoban.platform.records.encryption import EncryptedTextField
from huoban.platform.records.models import BaseRecord


class Customer(BaseRecord):
    object_type = "customer"
    resource = "customers"
    sensitive_fields = ("id_number", "bank_account")
    search_fields = ("name", "short_name", "number", "phone", "email")

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        INDIVIDUAL = "individual", _("Individual")

    class Lifecycle(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        LOYAL = "loyal", _("Loyal")
        DORMANT = "dormant", _("Dormant")
        CHURNED = "churned", _("Churned")

    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.COMPANY)
    uscc = models.CharField(_("Unified Social Credit Code"), max_length=18, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=20, blank=True)
    region = models.CharField(_("region"), max_length=12, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=12, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    id_number = EncryptedTextField(_("ID card number"), blank=True)
    bank_account = EncryptedTextField(_("bank account"), blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "-id"], name="cust_owner_id"),
            models.Index(fields=["owner_unit", "-id"], name="cust_unit_id"),
            models.Index(fields=["-created_at", "-id"], name="cust_created"),
            models.Index(fields=["name"], name="cust_name"),
        ]

    def __str__(self) -> str:
        return self.name
