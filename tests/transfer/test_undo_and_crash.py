"""Undo a run as a whole; crash safety (resume after the last committed batch, no duplicates)."""

import datetime as dt

import pytest
from django.utils import timezone

from huoban.customers.models import Customer
from huoban.customers.services import customer_create, customer_update
from huoban.platform.audit.models import AuditEvent
from huoban.platform.audit.services import audit_verify
from huoban.platform.errors import ValidationError
from huoban.platform.transfer import engine as engine_module
from huoban.platform.transfer.models import ImportBatch, ImportRun
from huoban.platform.transfer.services import import_execute, import_undo, import_upload

from .conftest import conserved, csv_bytes, run_import, upload

HEADER = ["客户名称", "手机", "邮箱"]


def rows(n, start=0):
    return [HEADER] + [[f"公司{i}", f"138{i:08d}", ""] for i in range(start, start + n)]


def live():
    return Customer.objects.unrestricted().filter(deleted_at__isnull=True)


def test_undo_removes_created_and_restores_updated(org, api):
    old = customer_create(
        actor=org.sales_manager, data={"name": "公司0", "phone": "13800000000", "email": "old@x.cn"}
    )
    data = [
        HEADER,
        ["公司0", "13800000000", "new@x.cn"],
        ["公司1", "13800000001", ""],
        ["公司2", "13800000002", ""],
    ]
    run = run_import(org.sales_manager, data, dedup="update", options={"batch_size": 2})
    assert run.counts == {"read": 3, "created": 2, "updated": 1, "skipped": 0, "rejected": 0}
    assert ImportBatch.objects.filter(run=run).count() == 2
    old.refresh_from_db()
    assert old.email == "new@x.cn"
    r = api(org.sales_manager).post(f"/api/v1/imports/{run.pk}/undo/")
    assert r.status_code == 202, r.content
    run.refresh_from_db()
    assert run.undone_at is not None
    assert run.undo_result == {"status": "done", "removed": 2, "restored": 1, "kept": 0, "changed_since": 0}
    assert list(live().values_list("name", flat=True)) == ["公司0"]
    old.refresh_from_db()
    assert old.email == "old@x.cn" and old.version == 3
    assert set(old.identifiers.values_list("value", flat=True)) == {"+8613800000000", "old@x.cn"}
    assert Customer.objects.unrestricted().filter(deleted_at__isnull=False).count() == 2  # recycle bin
    undo_events = AuditEvent.objects.filter(action="import", data__undo=run.pk)
    assert undo_events.count() == 2
    assert audit_verify().ok
    with pytest.raises(ValidationError):
        import_undo(actor=org.sales_manager, run=run)


def test_undo_keeps_records_changed_after_the_import(org):
    old = customer_create(
        actor=org.admin, data={"name": "公司0", "phone": "13800000000", "email": "old@x.cn"}
    )
    run = run_import(org.admin, [HEADER, ["公司0", "13800000000", "new@x.cn"]], dedup="update")
    old.refresh_from_db()
    customer_update(actor=org.admin, customer=old, data={"email": "later@x.cn"})
    import_undo(actor=org.admin, run=run)
    run.refresh_from_db()
    assert run.undo_result["kept"] == 1 and run.undo_result["restored"] == 0
    old.refresh_from_db()
    assert old.email == "later@x.cn"


def test_only_the_author_or_an_administrator_undoes(org, api):
    run = run_import(org.sales_manager, rows(1))
    assert api(org.sales_manager_north).post(f"/api/v1/imports/{run.pk}/undo/").status_code == 404
    assert api(org.admin).post(f"/api/v1/imports/{run.pk}/undo/").status_code == 202


def test_dry_run_cannot_be_undone(org):
    run = run_import(org.admin, rows(2), dry_run=True)
    with pytest.raises(ValidationError):
        import_undo(actor=org.admin, run=run)


def staged(user, data, **kw):
    run = import_upload(actor=user, object_type="customer", file=upload("c.csv", csv_bytes(data)), **kw)
    ImportRun.objects.filter(pk=run.pk).update(status="queued")
    run.refresh_from_db()
    return run


def test_crash_between_batches_resumes_without_duplicates(org):
    run = staged(org.admin, rows(9), options={"batch_size": 2})
    with pytest.raises(RuntimeError):
        import_execute(run, crash_after=2)
    run.refresh_from_db()
    assert run.checkpoint_row == 5 and run.created == 4 and live().count() == 4
    import_execute(run)
    run.refresh_from_db()
    assert run.status == "done" and conserved(run)
    assert run.counts == {"read": 9, "created": 9, "updated": 0, "skipped": 0, "rejected": 0}
    assert live().count() == 9
    assert sorted(live().values_list("name", flat=True)) == sorted(f"公司{i}" for i in range(9))


def test_crash_inside_a_batch_rolls_the_batch_back(org, monkeypatch):
    run = staged(org.admin, rows(6), options={"batch_size": 2})
    real = engine_module.Engine._finish_batch
    calls = {"n": 0}

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("worker killed")
        return real(self, *a, **kw)

    monkeypatch.setattr(engine_module.Engine, "_finish_batch", flaky)
    with pytest.raises(OSError):
        import_execute(run)
    run.refresh_from_db()
    assert run.checkpoint_row == 3 and live().count() == 2  # the second batch left nothing behind
    import_execute(run)
    run.refresh_from_db()
    assert live().count() == 6 and run.counts["created"] == 6 and conserved(run)


def test_job_retries_resume_the_run(org, monkeypatch):
    real = engine_module.Engine._finish_batch
    calls = {"n": 0}

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("database went away")
        return real(self, *a, **kw)

    monkeypatch.setattr(engine_module.Engine, "_finish_batch", flaky)
    run = run_import(org.admin, rows(6), options={"batch_size": 2})
    assert run.status == "done" and run.counts["created"] == 6 and live().count() == 6
    assert run.job.attempts == 2


def test_a_second_worker_cannot_write_the_same_rows(org):
    run = staged(org.admin, rows(4), options={"batch_size": 2})
    first = engine_module.Engine(run)
    first.compile()
    first.lease = "first"
    first.checkpoint = 0
    ImportRun.objects.filter(pk=run.pk).update(lease="second")  # another worker took over
    from huoban.platform.transfer.engine import Row

    batch = [Row(2, ["公司0", "13800000000", ""])]
    ops = first.process(batch)
    with pytest.raises(engine_module.LeaseLost):
        first.write(batch, ops, 2, 2)
    assert live().count() == 0


def test_stale_runs_are_resumed_by_the_periodic_task(org):
    from huoban.platform.transfer.tasks import resume_stale

    run = staged(org.admin, rows(4), options={"batch_size": 2})
    with pytest.raises(RuntimeError):
        import_execute(run, crash_after=1)
    ImportRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert resume_stale() == [run.pk]
    run.refresh_from_db()
    assert run.status == "done" and live().count() == 4 and run.counts["created"] == 4
    assert resume_stale() == []


def test_history_and_timeline_show_the_import_that_created_a_record(org, client):
    """Imports audit one event per batch (id ranges); a record they created shows that origin."""
    run = run_import(org.sales_manager, rows(3), options={"batch_size": 2})
    assert run.created == 3
    created = list(live().order_by("id"))
    other = customer_create(actor=org.sales_manager, data={"name": "手工录入公司"})
    client.force_login(org.sales_manager)
    for customer in created:
        html = client.get(f"/customers/{customer.pk}/tab/history/").content.decode()
        assert "Created by the import of" in html and run.file_name in html
        timeline = client.get(f"/customers/{customer.pk}/tab/timeline/").content.decode()
        assert "Created by the import of" in timeline
    assert (
        "Created by the import of" not in client.get(f"/customers/{other.pk}/tab/history/").content.decode()
    )
