"""The leads post_migrate handler on a new database: a partial ``huoban migrate <app>`` runs it
before the platform's picklist tables exist; it must wait for them instead of failing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _migrate(var_dir: Path, *app: str) -> subprocess.CompletedProcess:
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
        [sys.executable, "-m", "huoban", "migrate", *app, "--noinput"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=var_dir,
    )


def test_partial_migrate_on_new_database(tmp_path):
    for app in ("identity", "leads"):
        r = _migrate(tmp_path, app)
        assert r.returncode == 0, r.stderr
    with sqlite3.connect(tmp_path / "x.sqlite3") as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "leads_lead" in tables and "records_picklistvalue" not in tables
    # the rest later: the lead sources are then added to the shared source list
    r = _migrate(tmp_path)
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(tmp_path / "x.sqlite3") as con:
        codes = {
            row[0]
            for row in con.execute(
                "SELECT v.code FROM records_picklistvalue v JOIN records_picklist p ON v.picklist_id = p.id "
                "WHERE p.key = 'customer_source'"
            )
        }
    assert {"web_form", "campaign", "api", "website"} <= codes
