"""Audit trail: every write is an event (actor, time, IP, user agent, request id, field diffs);
admin-only API with filters; per-record history; append-only; hash chain verification."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from huoban.platform.audit.models import AuditChainHead, AuditEvent
from huoban.platform.audit.services import audit_log, audit_verify
from huoban.platform.identity.actors import SystemActor

URL = "/api/v1/customers/"
AE = "/api/v1/audit-events/"


def create(client, **extra):
    body = {"name": f"Audit {uuid.uuid4().hex}", "confirm_duplicate": True, **extra}
    r = client.post(URL, body, format="json", **HEADERS)
    assert r.status_code == 201, r.content
    return r.json()


HEADERS = {"HTTP_USER_AGENT": "pytest-agent/1.0", "HTTP_X_REQUEST_ID": "req-123"}


def test_every_write_is_an_event_with_request_context(org, api):
    mgr = api(org.sales_manager)
    body = create(mgr, short_name="S1")
    cid = body["id"]
    mgr.patch(f"{URL}{cid}/", {"short_name": "S2", "website": "https://x.example"}, format="json", **HEADERS)
    mgr.post(f"{URL}{cid}/transfer/", {"owner": org.sales_rep1.pk}, format="json", **HEADERS)
    mgr.delete(f"{URL}{cid}/", **HEADERS)
    mgr.post(f"{URL}{cid}/restore/", **HEADERS)
    events = list(AuditEvent.objects.filter(object_type="customer", object_id=str(cid)).order_by("seq"))
    assert [e.action for e in events] == ["create", "update", "transfer", "delete", "restore"]
    for e in events:
        assert e.actor_id == org.sales_manager.pk and e.actor_name == "sales_manager"
        assert e.ip == "127.0.0.1"
        assert e.user_agent == "pytest-agent/1.0"
        assert e.request_id == "req-123"
        assert abs((timezone.now() - e.at).total_seconds()) < 120
    create_ev, update_ev = events[0], events[1]
    assert create_ev.changes["name"] == [None, body["name"]]
    assert create_ev.changes["short_name"] == [None, "S1"]
    assert update_ev.changes == {"short_name": ["S1", "S2"], "website": ["", "https://x.example"]}


def test_request_id_is_generated_when_missing(org, api):
    r = api(org.sales_rep1).post(
        URL, {"name": f"A {uuid.uuid4().hex}", "confirm_duplicate": True}, format="json"
    )
    rid = r["X-Request-Id"]
    assert rid
    ev = AuditEvent.objects.filter(object_type="customer", object_id=str(r.json()["id"])).get()
    assert ev.request_id == rid


def test_sensitive_values_never_reach_the_trail(org, api):
    body = create(api(org.sales_manager), kind="individual", id_number="110101199003074514")
    ev = AuditEvent.objects.get(object_type="customer", object_id=str(body["id"]), action="create")
    assert "110101199003074514" not in str(ev.changes)


def test_audit_events_api_is_admin_only_with_filters(org, api):
    mgr = api(org.sales_manager)
    a = create(mgr)
    b = create(api(org.sales_rep1))
    mgr.patch(f"{URL}{a['id']}/", {"short_name": "x"}, format="json")
    for username in ("sales_manager", "sales_rep1", "service_agent", "finance", "marketing"):
        r = api(org.users[username]).get(AE)
        assert r.status_code == 403, username
    admin = api(org.admin)

    def seqs(**params):
        r = admin.get(AE, params)
        assert r.status_code == 200, r.content
        return [e["action"] + ":" + e["object_id"] for e in r.json()["results"]]

    assert seqs(object_type="customer", object_id=str(a["id"])) == [f"update:{a['id']}", f"create:{a['id']}"]
    assert seqs(object_type="customer", action="create") == [f"create:{b['id']}", f"create:{a['id']}"]
    assert seqs(object_type="customer", actor="sales_rep1") == [f"create:{b['id']}"]
    assert seqs(object_type="customer", actor=str(org.sales_rep1.pk)) == [f"create:{b['id']}"]
    now = timezone.now()
    assert len(seqs(object_type="customer", since=(now - dt.timedelta(minutes=5)).isoformat())) == 3
    assert seqs(object_type="customer", until=(now - dt.timedelta(days=1)).isoformat()) == []
    assert len(seqs(object_type="customer", since=now.date().isoformat())) == 3
    assert admin.get(AE, {"since": "last tuesday"}).status_code == 400
    first = admin.get(AE, {"object_type": "customer"}).json()["results"][0]
    assert set(first) >= {
        "seq",
        "at",
        "actor",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "changes",
        "ip",
        "user_agent",
        "request_id",
        "hash",
        "prev_hash",
    }
    detail = admin.get(f"{AE}{first['seq']}/")
    assert detail.status_code == 200 and detail.json()["hash"] == first["hash"]


def test_no_api_can_change_an_event(org, api):
    create(api(org.admin))
    admin = api(org.admin)
    seq = admin.get(AE).json()["results"][0]["seq"]
    assert admin.post(AE, {"action": "create"}, format="json").status_code == 405
    assert admin.put(f"{AE}{seq}/", {"action": "x"}, format="json").status_code == 405
    assert admin.patch(f"{AE}{seq}/", {"action": "x"}, format="json").status_code == 405
    assert admin.delete(f"{AE}{seq}/").status_code == 405
    assert audit_verify().ok


def test_per_record_history(org, api):
    rep = api(org.sales_rep1)
    body = create(rep)
    rep.patch(f"{URL}{body['id']}/", {"short_name": "h"}, format="json")
    other = create(rep)
    r = rep.get(f"{URL}{body['id']}/history/")
    assert r.status_code == 200
    hist = r.json()
    assert [e["action"] for e in hist["results"]] == ["update", "create"]
    assert hist["results"][0]["changes"] == {"short_name": ["", "h"]}
    assert all(e["object_id"] == str(body["id"]) for e in hist["results"])
    assert str(other["id"]) not in {e["object_id"] for e in hist["results"]}
    # history is behind the same door as the record
    assert api(org.sales_rep2).get(f"{URL}{body['id']}/history/").status_code == 404


def test_model_refuses_updates_and_deletes(org):
    ev = audit_log(actor=SystemActor("test"), action="other", object_type="x", object_id="1")
    ev = AuditEvent.objects.get(pk=ev.pk)
    ev.action = "update"
    with pytest.raises(PermissionError):
        ev.save()
    with pytest.raises(PermissionError):
        ev.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=ev.pk).update(action="update")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=ev.pk).delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.bulk_update([ev], ["action"])
    assert AuditEvent.objects.get(pk=ev.pk).action == "other"


def test_deleting_a_user_keeps_the_chain_intact(org, api):
    from huoban.platform.identity.models import User

    temp = User.objects.create(username=f"temp_{uuid.uuid4().hex[:6]}")
    audit_log(actor=temp, action="other", object_type="x", object_id="1")
    temp.delete()
    assert audit_verify().ok


def _tamper(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_verify_command_detects_tampering(org, api):
    for _ in range(3):
        create(api(org.sales_rep1))
    call_command("audit", "verify")  # intact: no error
    victim = AuditEvent.objects.order_by("seq")[1]
    _tamper(f"UPDATE {AuditEvent._meta.db_table} SET object_repr = %s WHERE seq = %s", ["forged", victim.seq])
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert f"#{victim.seq}" in str(exc.value)
    result = audit_verify()
    assert not result.ok and result.broken_seq == victim.seq and result.checked == victim.seq - 1


def test_verify_detects_a_removed_event(org, api):
    for _ in range(3):
        create(api(org.sales_rep1))
    victim = AuditEvent.objects.order_by("seq")[1]
    _tamper(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [victim.seq])
    result = audit_verify()
    assert not result.ok and result.broken_seq == victim.seq


def test_verify_detects_a_truncated_tail(org, api):
    for _ in range(3):
        create(api(org.sales_rep1))
    last = AuditEvent.objects.order_by("-seq")[0]
    _tamper(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [last.seq])
    result = audit_verify()
    assert not result.ok and result.broken_seq == last.seq


def _huoban_cmd():
    """Run the `huoban` command of the code under test (same interpreter, same source tree)."""
    import huoban

    src = str(Path(huoban.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return [sys.executable, "-c", "from huoban.cli import main; main()"], env


def test_verify_exit_code_on_a_file_database(tmp_path):
    """`huoban audit verify` as a process: exit 0 when intact, non-zero naming the event after
    a row was changed with raw SQL."""
    cmd, env = _huoban_cmd()
    db = tmp_path / "audit.sqlite3"
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "HUOBAN_VAR_DIR": str(tmp_path / "var"),
            "HUOBAN_TESTING": "",
            "HUOBAN_SECRET_KEY": "test-secret-key-for-audit-verify",
        }
    )

    def run(*args):
        return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=300)

    migrated = run("migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    script = (
        "import django; django.setup();"
        "from huoban.platform.audit.services import audit_log;"
        "from huoban.platform.identity.actors import SystemActor;"
        "[audit_log(actor=SystemActor('t'), action='other', object_type='x', object_id=str(i)) for i in range(3)]"
    )
    env["DJANGO_SETTINGS_MODULE"] = "huoban.settings"
    made = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr[-2000:]
    ok = run("audit", "verify")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "intact" in ok.stdout
    con = sqlite3.connect(db)
    con.execute("UPDATE audit_auditevent SET object_id = 'forged' WHERE seq = 2")
    con.commit()
    con.close()
    broken = run("audit", "verify")
    assert broken.returncode != 0
    assert "#2" in broken.stderr


@pytest.mark.transactional
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_a_gap_free_chain(org):
    if (
        connection.vendor == "sqlite"
        and connection.settings_dict["NAME"] in ("", ":memory:")
        or (connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"]))
    ):
        pytest.skip("threads cannot share an in-memory SQLite database")
    from django.db import connections

    start = AuditChainHead.objects.filter(id=1).values_list("last_seq", flat=True).first() or 0
    errors = []
    barrier = threading.Barrier(4)

    def worker(n):
        try:
            barrier.wait()
            for i in range(10):
                audit_log(actor=SystemActor(f"t{n}"), action="other", object_type="x", object_id=f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEvent.objects.filter(seq__gt=start).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(start + 1, start + 41))
    assert audit_verify().ok
