from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huoban.platform.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `huoban audit verify` walks the hash chain (exit 1 when broken)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"audit chain broken at event #{result.broken_seq}: {result.reason} "
                f"({result.checked} events verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.checked} events verified"))
