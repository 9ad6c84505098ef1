"""Soft delete, recycle bin, restore, purge, bulk delete, sharing and transfer of ownership."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from huoban.customers.models import Customer
from huoban.platform.access.models import Share
from huoban.platform.audit.models import AuditEvent
from huoban.platform.errors import StepUpRequired
from huoban.platform.records.models import TaggedItem
from tests.permissions import make_customer

URL = "/api/v1/customers/"


def make(owner, **fields):
    return make_customer(owner, **fields)


def ids(r):
    assert r.status_code == 200, r.content
    return {row["id"] for row in r.json()["results"]}


def events(obj, action=None):
    qs = AuditEvent.objects.filter(object_type="customer", object_id=str(obj.pk))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("seq"))


# --- soft delete, recycle bin, restore -----------------------------------------------------------


def test_delete_is_soft_and_restore_brings_it_back(org, api):
    c = make(org.sales_rep1)
    mgr = api(org.sales_manager)
    assert mgr.delete(f"{URL}{c.pk}/").status_code == 204
    row = Customer.objects.unrestricted().get(pk=c.pk)
    assert row.deleted_at is not None and row.deleted_by_id == org.sales_manager.pk
    # gone from lists and details, for everyone
    for client in (mgr, api(org.sales_rep1), api(org.admin)):
        assert c.pk not in ids(client.get(URL))
        assert client.get(f"{URL}{c.pk}/").status_code == 404
    assert mgr.delete(f"{URL}{c.pk}/").status_code == 404
    # the recycle bin lists it (for those who may delete)
    assert ids(mgr.get(f"{URL}deleted/")) == {c.pk}
    assert api(org.sales_rep1).get(f"{URL}deleted/").status_code == 403  # reps have no delete
    assert ids(api(org.sales_manager_north).get(f"{URL}deleted/")) == set()  # outside scope
    # restore: north manager cannot (out of scope → 404), the east manager can
    assert api(org.sales_manager_north).post(f"{URL}{c.pk}/restore/").status_code == 404
    assert api(org.sales_rep1).post(f"{URL}{c.pk}/restore/").status_code == 403
    r = mgr.post(f"{URL}{c.pk}/restore/")
    assert r.status_code == 200 and r.json()["id"] == c.pk
    assert c.pk in ids(api(org.sales_rep1).get(URL))
    assert ids(mgr.get(f"{URL}deleted/")) == set()
    # restoring something that is not deleted is 404 (it is not in the bin)
    assert mgr.post(f"{URL}{c.pk}/restore/").status_code == 404
    assert [e.action for e in events(c)][-2:] == ["delete", "restore"]


def test_recycle_bin_supports_search_and_ordering(org, api):
    a = make(org.sales_manager, name=f"Aaa {uuid.uuid4().hex}")
    b = make(org.sales_manager, name=f"Bbb {uuid.uuid4().hex}")
    mgr = api(org.sales_manager)
    for c in (a, b):
        mgr.delete(f"{URL}{c.pk}/")
    r = mgr.get(f"{URL}deleted/", {"ordering": "name"})
    assert [row["id"] for row in r.json()["results"]] == [a.pk, b.pk]
    assert ids(mgr.get(f"{URL}deleted/", {"q": "Bbb"})) == {b.pk}


def test_purge_hard_deletes_after_90_days(org, api):
    from huoban.platform.jobs.tasks import purge_recycle_bin

    old = make(org.sales_manager, tags=["x"])
    recent = make(org.sales_manager)
    alive = make(org.sales_manager)
    mgr = api(org.sales_manager)
    mgr.delete(f"{URL}{old.pk}/")
    mgr.delete(f"{URL}{recent.pk}/")
    Customer.objects.unrestricted().filter(pk=old.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=91)
    )
    Customer.objects.unrestricted().filter(pk=recent.pk).update(
        deleted_at=timezone.now() - dt.timedelta(days=89)
    )
    Share.objects.create(
        content_type_id=TaggedItem.objects.get(object_id=old.pk).content_type_id,
        object_id=old.pk,
        user=org.sales_rep2,
    )
    purge_recycle_bin.call_local()
    remaining = set(Customer.objects.unrestricted().values_list("pk", flat=True))
    assert old.pk not in remaining
    assert {recent.pk, alive.pk} <= remaining
    assert not TaggedItem.objects.filter(object_id=old.pk, content_type__model="customer").exists()
    assert not Share.objects.filter(object_id=old.pk).exists()
    purge = events(old, "purge")
    assert len(purge) == 1 and purge[0].actor_name == "system:purge"
    # the history of a purged record survives in the audit trail
    assert [e.action for e in events(old)][:1] == ["create"]


def test_purge_service_directly(org):
    from huoban.platform.records.services import purge_deleted, record_delete

    c = make(org.admin)
    record_delete(actor=org.admin, obj=c)
    assert purge_deleted(Customer, 90) == 0
    Customer.objects.unrestricted().filter(pk=c.pk).update(deleted_at=timezone.now() - dt.timedelta(days=100))
    assert purge_deleted(Customer, 90) == 1
    assert not Customer.objects.unrestricted().filter(pk=c.pk).exists()


def test_purge_removes_the_identifier_rows_without_a_database_constraint(org):
    """The identifier table has no foreign key (decision 0008): the delete cascades all the same."""
    from huoban.customers.models import CustomerIdentifier
    from huoban.customers.services import customer_create
    from huoban.platform.records.services import purge_deleted, record_delete

    c = customer_create(
        actor=org.admin, data={"name": "清除测试有限公司", "phone": "13800138077", "email": "p@example.cn"}
    )
    assert CustomerIdentifier.objects.filter(customer_id=c.pk).count() == 2
    record_delete(actor=org.admin, obj=c)
    Customer.objects.unrestricted().filter(pk=c.pk).update(deleted_at=timezone.now() - dt.timedelta(days=100))
    assert purge_deleted(Customer, 90) == 1
    assert not CustomerIdentifier.objects.filter(customer_id=c.pk).exists()


def test_purge_is_a_registered_periodic_task():
    from huey.contrib.djhuey import HUEY

    names = {t.__name__ for t in HUEY._registry._periodic_tasks}
    assert {"purge_recycle_bin", "purge_idempotency_keys"} <= names


# --- bulk delete -----------------------------------------------------------------------------------


def test_bulk_delete(org, api):
    mine = [make(org.sales_manager) for _ in range(3)]
    foreign = make(org.sales_rep3)
    mgr = api(org.sales_manager)
    r = mgr.post(f"{URL}bulk-delete/", {"ids": [mine[0].pk, foreign.pk]}, format="json")
    assert r.status_code == 400 and str(foreign.pk) in r.json()["ids"][0]
    assert Customer.objects.unrestricted().filter(pk=mine[0].pk, deleted_at__isnull=True).exists()
    r = mgr.post(f"{URL}bulk-delete/", {"ids": [c.pk for c in mine]}, format="json")
    assert r.status_code == 200 and r.json() == {"deleted": 3}
    assert ids(mgr.get(f"{URL}deleted/")) == {c.pk for c in mine}
    assert all(len(events(c, "delete")) == 1 for c in mine)
    assert mgr.post(f"{URL}bulk-delete/", {"ids": []}, format="json").status_code == 400
    assert (
        api(org.sales_rep1).post(f"{URL}bulk-delete/", {"ids": [mine[0].pk]}, format="json").status_code
        == 403
    )


def test_bulk_delete_requires_step_up(org, api, monkeypatch):
    from huoban.platform.identity import stepup

    calls = []

    def refuse(request):
        calls.append(request.user.username)
        raise StepUpRequired()

    monkeypatch.setattr(stepup, "require_step_up", refuse)
    c = make(org.sales_manager)
    r = api(org.sales_manager).post(f"{URL}bulk-delete/", {"ids": [c.pk]}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    assert calls == ["sales_manager"]
    assert Customer.objects.unrestricted().get(pk=c.pk).deleted_at is None


def test_bulk_delete_with_real_step_up_check(org, api):
    """A user without 2FA passes; one with 2FA needs a fresh verification."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    c = make(org.sales_manager)
    TOTPDevice.objects.create(user=org.sales_manager, name="phone", confirmed=True)
    r = api(org.sales_manager).post(f"{URL}bulk-delete/", {"ids": [c.pk]}, format="json")
    assert r.status_code == 403 and r.json()["code"] == "step_up_required"
    type(org.sales_manager).objects.filter(pk=org.sales_manager.pk).update(last_step_up_at=timezone.now())
    org.sales_manager.refresh_from_db()
    r = api(org.sales_manager).post(f"{URL}bulk-delete/", {"ids": [c.pk]}, format="json")
    assert r.status_code == 200, r.content


# --- sharing -------------------------------------------------------------------------------------


def test_read_share_makes_a_record_visible_but_not_editable(org, api):
    c = make(org.sales_rep1)
    other = make(org.sales_rep1)
    rep3 = api(org.sales_rep3)
    assert rep3.get(f"{URL}{c.pk}/").status_code == 404
    r = api(org.sales_rep1).post(
        f"{URL}{c.pk}/share/", {"user": org.sales_rep3.pk, "level": "read"}, format="json"
    )
    assert r.status_code == 201, r.content
    assert r.json()["user"] == org.sales_rep3.pk and r.json()["level"] == "read"
    assert rep3.get(f"{URL}{c.pk}/").status_code == 200
    assert ids(rep3.get(URL)) == {c.pk}  # nothing else of rep1's
    assert rep3.get(f"{URL}{other.pk}/").status_code == 404
    # visible but read-only: 403 (not 404: they can see it)
    assert rep3.patch(f"{URL}{c.pk}/", {"short_name": "x"}, format="json").status_code == 403
    # not visible to anyone else
    assert api(org.sales_rep2).get(f"{URL}{c.pk}/").status_code == 404
    assert api(org.sales_manager_north).get(f"{URL}{c.pk}/").status_code == 404
    assert [e.action for e in events(c, "share")] == ["share"]
    shares = api(org.sales_rep1).get(f"{URL}{c.pk}/share/").json()
    assert [(s["user"], s["level"]) for s in shares] == [(org.sales_rep3.pk, "read")]


def test_edit_share_allows_changes_but_not_delete_or_transfer(org, api):
    c = make(org.sales_rep1)
    api(org.sales_rep1).post(
        f"{URL}{c.pk}/share/", {"user": org.sales_rep2.pk, "level": "edit"}, format="json"
    )
    rep2 = api(org.sales_rep2)
    r = rep2.patch(f"{URL}{c.pk}/", {"short_name": "edited"}, format="json")
    assert r.status_code == 200 and r.json()["short_name"] == "edited"
    assert rep2.delete(f"{URL}{c.pk}/").status_code == 403  # reps have no delete at all
    assert rep2.post(f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep2.pk}, format="json").status_code == 403
    # rep2 is not the owner and has no assign: may not re-share
    r = rep2.post(f"{URL}{c.pk}/share/", {"user": org.sales_rep3.pk}, format="json")
    assert r.status_code == 403
    # unshare: edit access goes away
    r = api(org.sales_rep1).post(f"{URL}{c.pk}/unshare/", {"user": org.sales_rep2.pk}, format="json")
    assert r.json() == {"removed": 1}
    assert rep2.get(f"{URL}{c.pk}/").status_code == 404


def test_edit_share_does_not_grant_delete_to_managers_of_other_units(org, api):
    c = make(org.sales_rep1)
    api(org.sales_manager).post(
        f"{URL}{c.pk}/share/", {"user": org.sales_manager_north.pk, "level": "edit"}, format="json"
    )
    north = api(org.sales_manager_north)
    assert north.patch(f"{URL}{c.pk}/", {"short_name": "n"}, format="json").status_code == 200
    assert north.delete(f"{URL}{c.pk}/").status_code == 403
    assert (
        north.post(f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep3.pk}, format="json").status_code == 403
    )


def test_unit_share(org, api):
    c = make(org.sales_rep3)
    r = api(org.sales_rep3).post(f"{URL}{c.pk}/share/", {"unit": org.units["east-sales"].pk}, format="json")
    assert r.status_code == 201
    assert c.pk in ids(api(org.sales_rep1).get(URL))
    assert c.pk in ids(api(org.sales_rep2).get(URL))
    assert api(org.finance).get(f"{URL}{c.pk}/").status_code == 200  # finance sees all anyway


def test_share_validation_and_permissions(org, api):
    c = make(org.sales_rep1)
    rep1 = api(org.sales_rep1)
    assert rep1.post(f"{URL}{c.pk}/share/", {}, format="json").status_code == 400
    r = rep1.post(f"{URL}{c.pk}/share/", {"user": org.sales_rep2.pk, "unit": 1}, format="json")
    assert r.status_code == 400
    assert rep1.post(f"{URL}{c.pk}/share/", {"user": 99999999}, format="json").status_code == 400
    r = rep1.post(f"{URL}{c.pk}/share/", {"user": org.sales_rep2.pk, "level": "owner"}, format="json")
    assert r.status_code == 400 and "level" in r.json()
    # read-only roles see the record but may not share it
    assert (
        api(org.finance).post(f"{URL}{c.pk}/share/", {"user": org.sales_rep2.pk}, format="json").status_code
        == 403
    )
    # the unit manager (assign within scope) may
    r = api(org.sales_manager).post(f"{URL}{c.pk}/share/", {"user": org.sales_rep2.pk}, format="json")
    assert r.status_code == 201
    # out of scope: 404
    assert (
        api(org.sales_rep3)
        .post(f"{URL}{c.pk}/share/", {"user": org.sales_rep3.pk}, format="json")
        .status_code
        == 404
    )


# --- transfer ------------------------------------------------------------------------------------


def test_transfer_single(org, api):
    c = make(org.sales_rep1)
    r = api(org.sales_rep1).post(f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep2.pk}, format="json")
    assert r.status_code == 403  # reps cannot assign
    mgr = api(org.sales_manager)
    r = mgr.post(
        f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep3.pk, "reason": "moved north"}, format="json"
    )
    assert r.status_code == 200 and r.json() == {"transferred": 1}
    row = Customer.objects.unrestricted().get(pk=c.pk)
    assert row.owner_id == org.sales_rep3.pk
    assert row.owner_unit_id == org.sales_rep3.primary_unit_id  # owner unit follows
    assert row.version == c.version + 1
    ev = events(c, "transfer")
    assert len(ev) == 1
    assert ev[0].actor_name == "sales_manager"
    assert ev[0].changes == {
        "owner": [org.sales_rep1.pk, org.sales_rep3.pk],
        "owner_unit": [org.sales_rep1.primary_unit_id, org.sales_rep3.primary_unit_id],
    }
    assert ev[0].data == {"reason": "moved north"}
    # now it is out of the east manager's scope and in the north manager's
    assert mgr.get(f"{URL}{c.pk}/").status_code == 404
    assert api(org.sales_manager_north).get(f"{URL}{c.pk}/").json()["owner"]["username"] == "sales_rep3"
    assert api(org.sales_rep3).get(f"{URL}{c.pk}/").status_code == 200
    # bad owner
    north = api(org.sales_manager_north)
    assert north.post(f"{URL}{c.pk}/transfer/", {"owner": 99999999}, format="json").status_code == 400
    org.sales_rep2.is_active = False
    org.sales_rep2.save(update_fields=["is_active"])
    r = north.post(f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep2.pk}, format="json")
    assert r.status_code == 400 and "owner" in r.json()


def test_transfer_bulk(org, api):
    cs = [make(org.sales_rep1) for _ in range(3)]
    foreign = make(org.sales_rep3)
    mgr = api(org.sales_manager)
    r = mgr.post(
        f"{URL}transfer/", {"ids": [cs[0].pk, foreign.pk], "owner": org.sales_rep2.pk}, format="json"
    )
    assert r.status_code == 400 and "ids" in r.json()
    assert Customer.objects.unrestricted().get(pk=cs[0].pk).owner_id == org.sales_rep1.pk
    r = mgr.post(f"{URL}transfer/", {"ids": [c.pk for c in cs], "owner": org.sales_rep2.pk}, format="json")
    assert r.status_code == 200 and r.json() == {"transferred": 3}
    assert set(
        Customer.objects.unrestricted().filter(pk__in=[c.pk for c in cs]).values_list("owner_id", flat=True)
    ) == {org.sales_rep2.pk}
    assert all(len(events(c, "transfer")) == 1 for c in cs)
    # transferring to the current owner changes nothing
    r = mgr.post(f"{URL}transfer/", {"ids": [cs[0].pk], "owner": org.sales_rep2.pk}, format="json")
    assert r.json() == {"transferred": 0}
    assert (
        api(org.sales_rep1)
        .post(f"{URL}transfer/", {"ids": [cs[0].pk], "owner": 1}, format="json")
        .status_code
        == 403
    )
    assert (
        mgr.post(f"{URL}transfer/", {"ids": [], "owner": org.sales_rep2.pk}, format="json").status_code == 400
    )


@pytest.mark.parametrize("username", ["service_agent", "marketing", "finance"])
def test_read_only_roles_cannot_transfer(org, api, username):
    c = make(org.sales_rep1)
    r = api(org.users[username]).post(f"{URL}{c.pk}/transfer/", {"owner": org.sales_rep2.pk}, format="json")
    assert r.status_code == 403


def test_every_record_model_indexes_owner_and_unit_first() -> None:
    """Decision 0005: the owner foreign keys have no single-column index, so each record model
    must lead an index with ``owner`` and one with ``owner_unit`` (scoped lists, PROTECT checks)."""
    from django.apps import apps

    from huoban.platform.records.models import BaseRecord

    models_ = [m for m in apps.get_models() if issubclass(m, BaseRecord)]
    assert len(models_) >= 6
    for model in models_:
        leading = {index.fields[0].lstrip("-") for index in model._meta.indexes}
        assert {"owner", "owner_unit"} <= leading, f"{model._meta.label} lacks an owner/owner_unit index"
        for name in ("owner", "owner_unit", "created_by", "updated_by", "deleted_by"):
            assert model._meta.get_field(name).db_index is False
