from django.core.management.base import BaseCommand

from huoban.platform.records.picklists import load_picklists


class Command(BaseCommand):
    help = (
        "Load the standard picklists (GB/T 4754 industries, GB/T 2260 regions, source channels). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--refresh", action="store_true", help="rewrite labels of existing values from the data files"
        )

    def handle(self, *args, **options):
        counts = load_picklists(refresh=options["refresh"])
        for key, n in counts.items():
            self.stdout.write(f"{key}: {n} values {'updated' if options['refresh'] else 'added'}")
