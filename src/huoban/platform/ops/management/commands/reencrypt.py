from django.core.management.base import BaseCommand
from django.db import transaction

from huoban.platform.access import registry
from huoban.platform.records.encryption import EncryptedTextField, rotate


class Command(BaseCommand):
    help = "Re-encrypt every sensitive field with the first key of HUOBAN_ENCRYPTION_KEYS (key rotation)."

    def handle(self, *args, **options):
        total = 0
        for ot in registry.all_types():
            model = ot.model
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            columns = [f.column for f in fields]
            table = model._meta.db_table
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute(f"SELECT id, {', '.join(columns)} FROM {table}")  # noqa: S608 (identifiers from models)
                rows = cur.fetchall()
            with transaction.atomic(), connection.cursor() as cur:
                for row in rows:
                    pk, values = row[0], row[1:]
                    new = [rotate(v) if v else v for v in values]
                    sets = ", ".join(f"{c} = %s" for c in columns)
                    cur.execute(f"UPDATE {table} SET {sets} WHERE id = %s", [*new, pk])  # noqa: S608
                    total += 1
            self.stdout.write(f"{ot.key}: {len(rows)} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows"))
