"""Domain events: emitted by every record write, dispatched after commit, failures isolated."""

from __future__ import annotations

import uuid

import pytest

from huoban.platform.events import bus


@pytest.fixture
def recorder():
    seen = []

    def handler(event):
        seen.append((event.name, event.payload.get("id"), getattr(event.actor, "username", None)))

    bus.subscribe("*", handler)
    yield seen
    bus.unsubscribe("*", handler)


def test_record_writes_emit_events(org, api, recorder):
    mgr = api(org.sales_manager)
    cid = mgr.post(
        "/api/v1/customers/", {"name": f"Ev {uuid.uuid4().hex}", "confirm_duplicate": True}, format="json"
    ).json()["id"]
    mgr.patch(f"/api/v1/customers/{cid}/", {"short_name": "e"}, format="json")
    mgr.post(f"/api/v1/customers/{cid}/transfer/", {"owner": org.sales_rep1.pk}, format="json")
    mgr.delete(f"/api/v1/customers/{cid}/")
    mgr.post(f"/api/v1/customers/{cid}/restore/")
    names = [n for n, i, _a in recorder if i == cid]
    assert names == [
        "customer.created",
        "customer.updated",
        "customer.transferred",
        "customer.deleted",
        "customer.restored",
    ]
    assert {a for n, i, a in recorder if i == cid} == {"sales_manager"}


def test_a_failing_handler_never_breaks_the_write(org, api, recorder):
    def broken(event):
        raise RuntimeError("handler bug")

    bus.subscribe("customer.created", broken)
    try:
        r = api(org.sales_rep1).post(
            "/api/v1/customers/", {"name": f"Ev {uuid.uuid4().hex}", "confirm_duplicate": True}, format="json"
        )
    finally:
        bus.unsubscribe("customer.created", broken)
    assert r.status_code == 201
    assert ("customer.created", r.json()["id"], "sales_rep1") in recorder


def test_events_wait_for_commit(settings, db):
    from django.db import transaction

    settings.RUN_ON_COMMIT_IMMEDIATELY = False
    seen = []
    bus.subscribe("test.thing", lambda e: seen.append(e.payload["n"]))
    try:
        with transaction.atomic():
            bus.emit("test.thing", n=1)
            assert seen == []
        # pytest-django wraps each test in a transaction that never commits: on_commit hooks
        # are captured instead of run
    finally:
        bus._handlers.pop("test.thing", None)
    assert seen == []


def test_events_dispatch_after_commit(settings, db, django_capture_on_commit_callbacks):
    settings.RUN_ON_COMMIT_IMMEDIATELY = False
    seen = []
    bus.subscribe("test.other", lambda e: seen.append(e.payload["n"]))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            bus.emit("test.other", n=2)
            assert seen == []
        assert seen == [2]
    finally:
        bus._handlers.pop("test.other", None)
