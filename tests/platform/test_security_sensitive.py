"""Sensitive fields: masking, reveal (permission, scope, step-up, audit), encryption at rest and key
rotation — with the Customer model (id_number and bank_account are encrypted)."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from huoban.customers.models import Customer
from huoban.customers.services import customer_create
from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.testing import enrol_totp, totp_code
from huoban.platform.records import encryption

ID_NUMBER = "33010619900101123X"
BANK = "6222021234567890128"


@pytest.fixture
def customer(org):
    return customer_create(
        actor=org.sales_rep1,
        data={"name": "王小明", "kind": "individual", "id_number": ID_NUMBER, "bank_account": BANK},
    )


def _raw(pk, column):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM customers_customer WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def _reveal(client, obj, field="id_number", object_type="customer"):
    return client.post(
        "/api/v1/reveal/", {"object_type": object_type, "id": obj.pk, "field": field}, format="json"
    )


# --- masking --------------------------------------------------------------------------------


def test_masked_without_view_sensitive(customer, org, api):
    rep = api(org.sales_rep1)  # owner, but sales reps lack view_sensitive
    detail = rep.get(f"/api/v1/customers/{customer.pk}/").json()
    assert detail["id_number"] == "3301**********123X"
    assert detail["bank_account"] == "6222***********0128"
    listed = rep.get("/api/v1/customers/").json()["results"][0]
    assert listed["id_number"] == "3301**********123X" and ID_NUMBER not in json.dumps(listed)


def test_clear_with_view_sensitive(customer, org, api):
    manager = api(org.sales_manager)  # view_sensitive on customers, unit tree covers the rep
    assert manager.get(f"/api/v1/customers/{customer.pk}/").json()["id_number"] == ID_NUMBER


# --- reveal --------------------------------------------------------------------------------------


def test_reveal_needs_view_sensitive(customer, org, api):
    r = _reveal(api(org.sales_rep1), customer)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert AuditEvent.objects.filter(action="access_denied", actor=org.sales_rep1).exists()
    assert not AuditEvent.objects.filter(action="reveal").exists()


def test_reveal_outside_scope_is_404(customer, org, api):
    r = _reveal(api(org.sales_manager_north), customer)
    assert r.status_code == 404
    assert _reveal(api(org.admin), customer, object_type="customer").status_code == 200
    missing = api(org.admin).post(
        "/api/v1/reveal/", {"object_type": "customer", "id": 999999, "field": "id_number"}, format="json"
    )
    assert missing.status_code == 404


def test_reveal_validates_type_and_field(customer, org, api):
    c = api(org.admin)
    r = _reveal(c, customer, object_type="spaceship")
    assert r.status_code == 400 and "object_type" in r.json()
    r = _reveal(c, customer, field="name")
    assert r.status_code == 400 and "field" in r.json()
    r = c.post("/api/v1/reveal/", {"object_type": "customer"}, format="json")
    assert r.status_code == 400 and {"id", "field"} <= set(r.json())


def test_reveal_requires_step_up_and_is_audited(customer, org, api):
    device = enrol_totp(org.sales_manager)
    c = api(org.sales_manager)
    r = _reveal(c, customer)
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    assert c.post("/api/v1/me/step-up/", {"otp": totp_code(device)}, format="json").status_code == 200
    r = _reveal(c, customer, field="bank_account")
    assert r.status_code == 200 and r.json() == {"value": BANK}
    ev = AuditEvent.objects.filter(action="reveal").get()
    assert ev.actor == org.sales_manager
    assert ev.object_type == "customer" and ev.object_id == str(customer.pk)
    assert ev.data == {"field": "bank_account"}
    stored = json.dumps([ev.changes, ev.data, ev.object_repr], ensure_ascii=False)
    assert BANK not in stored and ID_NUMBER not in stored


def test_reveal_without_2fa_passes_step_up(customer, org, api):
    r = _reveal(api(org.sales_manager), customer)
    assert r.status_code == 200 and r.json()["value"] == ID_NUMBER
    assert AuditEvent.objects.filter(action="reveal", data__field="id_number").count() == 1


# --- encryption at rest --------------------------------------------------------------------------


def test_stored_value_is_ciphertext(customer):
    for column, plain in (("id_number", ID_NUMBER), ("bank_account", BANK)):
        raw = _raw(customer.pk, column)
        assert raw.startswith("enc1:") and plain not in raw
    assert Customer.objects.get(pk=customer.pk).id_number == ID_NUMBER


def test_key_rotation(org):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    try:
        with override_settings(ENCRYPTION_KEYS=[old]):
            encryption._fernet.cache_clear()
            c = customer_create(
                actor=org.sales_rep1, data={"name": "旧钥客户", "kind": "individual", "id_number": ID_NUMBER}
            )
            before = _raw(c.pk, "id_number")
        with override_settings(ENCRYPTION_KEYS=[new, old]):
            encryption._fernet.cache_clear()
            assert Customer.objects.get(pk=c.pk).id_number == ID_NUMBER  # old rows still decrypt
            out = io.StringIO()
            call_command("reencrypt", stdout=out)
            assert "customer:" in out.getvalue()
            after = _raw(c.pk, "id_number")
            assert after != before and after.startswith("enc1:")
        with override_settings(ENCRYPTION_KEYS=[new]):
            encryption._fernet.cache_clear()
            assert Customer.objects.get(pk=c.pk).id_number == ID_NUMBER  # new key alone suffices
        with override_settings(ENCRYPTION_KEYS=[old]):
            encryption._fernet.cache_clear()
            with pytest.raises(ValueError):
                Customer.objects.get(pk=c.pk)  # the old key can no longer read it
    finally:
        encryption._fernet.cache_clear()


def test_reencrypt_encrypts_plain_legacy_values(customer):
    with connection.cursor() as cur:
        cur.execute("UPDATE customers_customer SET bank_account = %s WHERE id = %s", [BANK, customer.pk])
    assert Customer.objects.get(pk=customer.pk).bank_account == BANK  # plain values still read
    call_command("reencrypt", stdout=io.StringIO())
    raw = _raw(customer.pk, "bank_account")
    assert raw.startswith("enc1:") and BANK not in raw
    assert Customer.objects.get(pk=customer.pk).bank_account == BANK
