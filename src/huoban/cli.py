"""The `huoban` command: wraps manage.py and adds serve / worker.

huoban serve [--host H] [--port P] [--workers N]   gunicorn + a background worker
huoban worker                                      the task queue consumer (Huey)
huoban migrate                                     backs up SQLite first, then migrates
huoban demo                                        idempotent demo data
huoban createadmin                                 create an administrator
huoban audit verify                                walk the audit hash chain
huoban <any management command>
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")


def _pending_migrations() -> list[str]:
    import django
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def serve(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="huoban serve")
    parser.add_argument("--host", default=os.environ.get("HUOBAN_HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("HUOBAN_PORT", "8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("HUOBAN_WEB_WORKERS", "2")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
    args = parser.parse_args(argv)
    pending = _pending_migrations()
    if pending:
        sys.stderr.write(
            "huoban: refusing to start, unapplied migrations:\n  "
            + "\n  ".join(pending)
            + "\nRun `huoban migrate`.\n"
        )
        return 2
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    procs: list[subprocess.Popen] = []
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "huoban.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--timeout",
        "120",
    ]
    procs.append(subprocess.Popen(web))
    if not args.no_worker:
        procs.append(subprocess.Popen([sys.executable, "-m", "huoban", "worker"]))

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    finally:
        stop()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


def main(argv: list[str] | None = None) -> None:
    _setup()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "serve":
        sys.exit(serve(argv[1:]))
    if argv and argv[0] == "worker":
        argv = ["run_huey", *argv[1:]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huoban", *argv])


if __name__ == "__main__":
    main()
