"""`migrate` that backs up an SQLite database first (var/backups/), then runs Django's migrate."""

import sqlite3
from pathlib import Path

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connection
from django.utils import timezone


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3") and not settings.TESTING and not options.get("plan"):
            path = Path(str(db["NAME"]))
            if path.exists() and path.stat().st_size > 0 and self._has_pending():
                backups = settings.VAR_DIR / "backups"
                backups.mkdir(parents=True, exist_ok=True)
                target = backups / f"{path.stem}-{timezone.now():%Y%m%d-%H%M%S}.sqlite3"
                src = sqlite3.connect(str(path))
                dst = sqlite3.connect(str(target))
                with dst:
                    src.backup(dst)  # consistent online copy (WAL included)
                src.close()
                dst.close()
                if options.get("verbosity", 1):
                    self.stdout.write(f"Backed up {path} to {target}")
                for old in sorted(backups.glob(f"{path.stem}-*.sqlite3"))[:-10]:
                    old.unlink()
        result = super().handle(*args, **options)
        if not settings.TESTING and not options.get("plan"):
            # Fresh planner statistics: without them SQLite may sort a whole table for a list page.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return result

    def _has_pending(self) -> bool:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
