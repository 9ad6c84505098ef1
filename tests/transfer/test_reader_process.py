"""The import's reader process (platform/transfer/parallel.py): a forked child reads, converts and
validates one batch ahead while the run's process writes. These tests run outside a test
transaction (the child could not see uncommitted rows), so they are ``transactional``."""

from __future__ import annotations

import pytest

from huoban.customers.models import Customer
from huoban.customers.services import customer_create
from huoban.platform.errors import ValidationError
from huoban.platform.transfer import engine as engine_module
from huoban.platform.transfer import parallel
from huoban.platform.transfer.models import ImportRowIssue, ImportRun
from huoban.platform.transfer.services import import_execute, import_upload

from .conftest import csv_bytes, upload

HEADER = ["客户名称", "手机", "邮箱", "所属行业"]


def _file() -> list[list[str]]:
    rows = [HEADER]
    for i in range(40):
        rows.append([f"杭州数据{i}有限公司", f"138{i:08d}", f"c{i}@example.cn", "制造业"])
    rows[5] = ["杭州数据3有限公司", "１３８００００００03", "", ""]  # same as row 4 (full-width digits)
    rows[9] = ["坏电话公司", "12345", "", ""]  # invalid phone
    rows[12] = ["坏邮箱公司", "", "not-an-email", ""]  # invalid e-mail
    rows[15] = ["=cmd|' /C calc'!A0", "13900000015", "", ""]  # formula injection
    rows[20] = ["", "", "", ""]  # blank line
    rows[25] = ["未知行业公司", "13900000025", "", "不存在的行业"]  # unknown industry
    rows[30] = ["上海老客户有限公司", "13912345678", "", ""]  # in the database already
    return rows


def _staged(user, data, *, dry_run=False, batch_size=7):
    run = import_upload(
        actor=user,
        object_type="customer",
        file=upload("c.csv", csv_bytes(data)),
        match_keys=["name_phone"],
        options={"batch_size": batch_size},
    )
    ImportRun.objects.filter(pk=run.pk).update(status="queued", dry_run=dry_run)
    run.refresh_from_db()
    return run


def _issues(run):
    return [
        (row, kind, sorted((e["field"], e["message"]) for e in errors))
        for row, kind, errors in ImportRowIssue.objects.filter(run=run)
        .order_by("row")
        .values_list("row", "kind", "errors")
    ]


@pytest.fixture
def reader(monkeypatch, settings):
    """The reader process for every file size; ``reader.used`` counts the runs that forked it."""
    settings.IMPORT_READER_PROCESS = True
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    real = parallel.Reader.batches

    class Spy:
        used = 0

    def counting(self):
        Spy.used += 1
        yield from real(self)

    monkeypatch.setattr(parallel.Reader, "batches", counting)
    return Spy


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_the_reader_process_gives_what_a_serial_run_gives(org, industries, reader, settings):
    customer_create(actor=org.admin, data={"name": "上海老客户有限公司", "phone": "13912345678"})
    data = _file()
    settings.IMPORT_READER_PROCESS = False
    serial = import_execute(_staged(org.admin, data, dry_run=True))
    assert reader.used == 0
    settings.IMPORT_READER_PROCESS = True
    forked = import_execute(_staged(org.admin, data, dry_run=True))
    assert reader.used == 1
    assert forked.counts == serial.counts
    assert forked.preview["rows"] == serial.preview["rows"]  # every converted value and error
    assert "reader_convert" in forked.summary["cpu_seconds"]  # the child's CPU is reported

    run = import_execute(_staged(org.admin, data))
    assert reader.used == 2 and run.status == "done"
    assert (
        run.counts == serial.counts == {"read": 39, "created": 33, "updated": 0, "skipped": 2, "rejected": 4}
    )
    assert run.progress == 100
    rejected = {row: fields for row, kind, fields in _issues(run) if kind == "rejected"}
    assert {row: [f for f, _m in fields] for row, fields in rejected.items()} == {
        10: ["phone"],
        13: ["email"],
        16: ["name"],
        26: ["industry"],
    }
    skipped = [row for row, kind, _f in _issues(run) if kind == "skipped"]
    assert skipped == [6, 31]
    names = list(
        Customer.objects.unrestricted().exclude(name="上海老客户有限公司").values_list("name", flat=True)
    )
    assert len(names) == 33 and len(set(names)) == 33
    c = Customer.objects.unrestricted().get(name="杭州数据0有限公司")
    assert c.phone == "+8613800000000" and c.industry == "C" and c.number.startswith("CUST")
    assert c.name_key  # derived in the reader process, written by the run's


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_a_failing_reader_fails_the_attempt_and_the_retry_resumes(org, reader, monkeypatch):
    data = [["客户名称", "手机"]] + [[f"公司{i}", f"138{i:08d}"] for i in range(20)]
    run = _staged(org.admin, data, batch_size=5)
    real = engine_module.Engine.prepare
    calls = {"n": 0}

    def flaky(self, rows, **kw):
        calls["n"] += 1  # counted in the child: the parent's copy stays 0
        if calls["n"] == 3:
            raise ValidationError({"file": ["the disk went away"]})
        return real(self, rows, **kw)

    monkeypatch.setattr(engine_module.Engine, "prepare", flaky)
    with pytest.raises(ValidationError) as failed:
        import_execute(run)
    assert failed.value.errors == {"file": ["the disk went away"]}  # raised in the parent, intact
    run.refresh_from_db()
    assert run.checkpoint_row == 11 and run.created == 10  # two batches written, the third never read
    monkeypatch.setattr(engine_module.Engine, "prepare", real)
    import_execute(run)
    run.refresh_from_db()
    assert run.status == "done" and reader.used == 2
    assert run.counts == {"read": 20, "created": 20, "updated": 0, "skipped": 0, "rejected": 0}
    assert Customer.objects.unrestricted().count() == 20


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_a_crash_of_the_run_stops_the_reader_and_resumes_without_duplicates(org, reader, monkeypatch):
    stopped = []
    real_stop = parallel.Reader.stop

    def stop(self):
        real_stop(self)
        stopped.append(self.process)

    monkeypatch.setattr(parallel.Reader, "stop", stop)
    data = [["客户名称", "手机"]] + [[f"公司{i}", f"138{i:08d}"] for i in range(30)]
    run = _staged(org.admin, data, batch_size=4)
    with pytest.raises(RuntimeError):
        import_execute(run, crash_after=2)
    assert stopped and not stopped[0].is_alive()  # no reader left behind
    run.refresh_from_db()
    assert run.created == 8
    import_execute(run)
    run.refresh_from_db()
    assert run.counts["created"] == 30 and Customer.objects.unrestricted().count() == 30


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_a_reader_that_hangs_fails_the_attempt_instead_of_the_run_waiting_for_ever(org, reader, monkeypatch):
    import time

    monkeypatch.setattr(parallel, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(parallel, "STALL_SECONDS", 0.5)
    data = [["客户名称", "手机"]] + [[f"公司{i}", f"138{i:08d}"] for i in range(12)]
    run = _staged(org.admin, data, batch_size=4)
    real = engine_module.Engine.prepare
    calls = {"n": 0}

    def stuck(self, rows, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            time.sleep(30)  # e.g. a lock inherited in a held state
        return real(self, rows, **kw)

    monkeypatch.setattr(engine_module.Engine, "prepare", stuck)
    stopped = []
    real_stop = parallel.Reader.stop

    def stop(self):
        real_stop(self)
        stopped.append(self.process)

    monkeypatch.setattr(parallel.Reader, "stop", stop)
    started = time.monotonic()
    with pytest.raises(parallel.ReaderFailed, match="sent nothing"):
        import_execute(run)
    assert time.monotonic() - started < 15 and not stopped[0].is_alive()
    run.refresh_from_db()
    assert run.created == 4  # the first batch is in; the retry resumes after it
    monkeypatch.setattr(engine_module.Engine, "prepare", real)
    import_execute(run)
    run.refresh_from_db()
    assert run.counts["created"] == 12 and Customer.objects.unrestricted().count() == 12


@pytest.fixture
def choice(org, settings, tmp_path, monkeypatch):
    """An engine, a file above and one below ``MIN_BYTES``, on a machine with two CPUs."""
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    settings.IMPORT_READER_PROCESS = True
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (parallel.MIN_BYTES + 1))
    small = tmp_path / "small.csv"
    small.write_bytes(b"x")
    return engine_module.Engine(_staged(org.admin, _file())), str(big), str(small)


@pytest.mark.django_db
def test_no_reader_inside_a_transaction_or_when_switched_off(choice, settings):
    engine, big, _small = choice
    assert parallel.reader_for(engine, big) is None  # the test's transaction: the child could not see it
    settings.IMPORT_READER_PROCESS = False
    assert parallel.reader_for(engine, big) is None


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_reader_is_chosen_for_big_files_on_several_cpus_only(choice, settings, monkeypatch):
    engine, big, small = choice
    assert isinstance(parallel.reader_for(engine, big), parallel.Reader)
    assert parallel.reader_for(engine, small) is None
    settings.IMPORT_READER_PROCESS = False
    assert parallel.reader_for(engine, big) is None
    settings.IMPORT_READER_PROCESS = True
    monkeypatch.setattr(parallel, "_cpus", lambda: 1)
    assert parallel.reader_for(engine, big) is None


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_dedup_update_through_the_reader_writes_what_a_serial_run_writes(org, reader, settings, monkeypatch):
    """The reader prepares each row's INSERT and related rows; rows merged into an earlier row of
    the file (dedup = update) must be written from the merged values, and matches in the
    database updated, exactly as a serial run does."""
    header = ["客户名称", "手机", "邮箱", "地址"]
    data = [header] + [[f"合并{i}有限公司", f"138{i:08d}", "", f"地址{i}"] for i in range(12)]
    data.append(["合并1有限公司", "13800000001", "m1@example.cn", ""])  # into row 3, another batch
    data.append(["合并2有限公司", "13800000002", "", "新地址2"])  # a later address wins
    data.append(["老客户有限公司", "13912345678", "old@example.cn", "老地址"])  # the database's record
    data.append(["合并10有限公司", "13800000010", "m10@example.cn", ""])  # into row 12, same batch

    def state():
        return {
            c.name: (
                c.phone,
                c.email,
                c.address,
                sorted(c.identifiers.values_list("kind", "value")),
                sorted(c.addresses.values_list("line", "is_primary")),
            )
            for c in Customer.objects.unrestricted().order_by("name")
        }

    real_prepare_insert = engine_module.Engine.prepare_insert
    in_this_process = []

    def counting(self, data):
        in_this_process.append(data.get("name"))  # the child's calls are counted in its own copy
        return real_prepare_insert(self, data)

    monkeypatch.setattr(engine_module.Engine, "prepare_insert", counting)
    results = {}
    for forked in (False, True):
        in_this_process.clear()
        Customer.objects.unrestricted().all().delete()
        customer_create(actor=org.admin, data={"name": "老客户有限公司", "phone": "13912345678"})
        settings.IMPORT_READER_PROCESS = forked
        run = import_upload(
            actor=org.admin,
            object_type="customer",
            file=upload("c.csv", csv_bytes(data)),
            match_keys=["name_phone"],
            dedup="update",
            options={"batch_size": 8},  # rows 2–9, 10–17
        )
        ImportRun.objects.filter(pk=run.pk).update(status="queued")
        run.refresh_from_db()
        run = import_execute(run)
        assert run.counts == {"read": 16, "created": 12, "updated": 4, "skipped": 0, "rejected": 0}
        results[forked] = state()
    assert reader.used == 1
    # with the reader, the run's process prepared only the one row that absorbed another
    assert in_this_process == ["合并10有限公司"]
    assert results[True] == results[False]
    merged = results[True]
    assert merged["合并1有限公司"][1] == "m1@example.cn"
    assert ("email", "m1@example.cn") in merged["合并1有限公司"][3]
    assert merged["合并2有限公司"][4] == [("新地址2", True)]
    assert merged["合并10有限公司"][1:3] == ("m10@example.cn", "地址10")
    assert ("email", "m10@example.cn") in merged["合并10有限公司"][3]
    assert merged["合并10有限公司"][4] == [("地址10", True)]
    assert merged["老客户有限公司"][1:3] == ("old@example.cn", "老地址")
    assert ("email", "old@example.cn") in merged["老客户有限公司"][3]
