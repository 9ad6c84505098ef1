from django.core.management.base import BaseCommand, CommandError

from huoban.platform.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `huoban audit verify` walks the hash chain."

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args, **options):
        result = audit_verify()
        if not result.ok:
            raise CommandError(f"audit chain broken at event #{result.broken_seq}: {result.reason}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.checked} events verified"))
