"""Operations: `huoban serve` refuses unapplied migrations, `huoban migrate` backs up SQLite,
`huoban demo` is idempotent, `huoban createadmin` works without prompts."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huoban.platform.audit.models import AuditEvent
from huoban.platform.identity.models import OrgUnit, Role, User

SRC = Path(__file__).resolve().parents[2] / "src"


def _huoban(args, var_dir: Path, timeout=300):
    env = {
        **os.environ,
        "HUOBAN_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'x.sqlite3'}",
        "PYTHONPATH": str(SRC),
        "DJANGO_SETTINGS_MODULE": "huoban.settings",
        "HUOBAN_LOG_LEVEL": "WARNING",
    }
    env.pop("HUOBAN_TESTING", None)
    return subprocess.run(
        [sys.executable, "-m", "huoban", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=var_dir,
    )


def test_serve_refuses_unapplied_migrations(tmp_path):
    r = _huoban(["serve", "--port", "0", "--no-worker"], tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "refusing to start, unapplied migrations" in r.stderr
    for name in ("identity.0001_initial", "audit.0001_initial", "customers.0001_initial"):
        assert name in r.stderr
    assert "huoban migrate" in r.stderr


def test_pending_migrations_empty_on_migrated_db(db):
    from huoban.cli import _pending_migrations

    assert _pending_migrations() == []


def test_migrate_backs_up_existing_sqlite_db(tmp_path):
    db_file = tmp_path / "x.sqlite3"
    with sqlite3.connect(db_file) as con:
        con.execute("CREATE TABLE precious (v TEXT)")
        con.execute("INSERT INTO precious VALUES ('keep me')")
    r = _huoban(["migrate", "--noinput"], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Backed up" in r.stdout
    backups = sorted((tmp_path / "backups").glob("x-*.sqlite3"))
    assert len(backups) == 1, r.stdout
    with sqlite3.connect(backups[0]) as con:
        assert con.execute("SELECT v FROM precious").fetchone() == ("keep me",)
        tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "django_migrations" not in tables  # the copy predates the migration
    with sqlite3.connect(db_file) as con:
        tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert con.execute("SELECT v FROM precious").fetchone() == ("keep me",)
    assert {"django_migrations", "identity_user", "audit_auditevent"} <= tables


def test_demo_is_idempotent(db):
    out = io.StringIO()
    call_command("demo", quiet=True, stdout=out)
    users = sorted(User.objects.values_list("username", "primary_unit__code"))
    units = sorted(OrgUnit.objects.values_list("code", "path", "manager__username"))
    roles = sorted(Role.objects.values_list("code", flat=True))
    call_command("demo", quiet=True, stdout=out)
    assert sorted(User.objects.values_list("username", "primary_unit__code")) == users
    assert sorted(OrgUnit.objects.values_list("code", "path", "manager__username")) == units
    assert sorted(Role.objects.values_list("code", flat=True)) == roles
    assert {"admin", "sales_rep1", "finance"} <= {u for u, _ in users}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("huoban-demo-2026")


def test_createadmin_non_interactive(db, monkeypatch):
    def no_prompt(*a, **k):
        raise AssertionError("createadmin prompted")

    monkeypatch.setattr("builtins.input", no_prompt)
    monkeypatch.setattr("getpass.getpass", no_prompt)
    out = io.StringIO()
    call_command(
        "createadmin",
        username="boss",
        email="boss@example.com",
        password="Quiet-harbour-lantern-7",
        stdout=out,
    )
    boss = User.objects.get(username="boss")
    assert boss.is_superuser and boss.check_password("Quiet-harbour-lantern-7")
    assert list(boss.roles.values_list("code", flat=True)) == ["administrator"]
    assert AuditEvent.objects.filter(
        action="create", object_repr="boss", actor_name="system:createadmin"
    ).exists()
    # from the environment, without --password
    monkeypatch.setenv("HUOBAN_ADMIN_USERNAME", "boss2")
    monkeypatch.setenv("HUOBAN_ADMIN_PASSWORD", "Another-quiet-harbour-8")
    call_command("createadmin", "--noinput", stdout=out)
    assert User.objects.get(username="boss2").check_password("Another-quiet-harbour-8")


def test_createadmin_refuses_weak_or_duplicate(db, monkeypatch):
    monkeypatch.delenv("HUOBAN_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("HUOBAN_ADMIN_USERNAME", raising=False)
    with pytest.raises(CommandError, match="too short"):
        call_command("createadmin", username="weak", password="short", stdout=io.StringIO())
    call_command("createadmin", username="boss", password="Quiet-harbour-lantern-7", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", username="boss", password="Quiet-harbour-lantern-7", stdout=io.StringIO())
    with pytest.raises(CommandError, match="password"):
        call_command("createadmin", "--noinput", username="nopass", stdout=io.StringIO())
