"""``huoban search-reindex [--type customer …]``: rebuild the global search index."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from huoban.platform.ui import search


class Command(BaseCommand):
    help = "Rebuild the global search index (all types, or the ones given with --type)."

    def add_arguments(self, parser):
        parser.add_argument("--type", action="append", dest="types", help="object type, e.g. customer")
        parser.add_argument("--batch", type=int, default=5000)

    def handle(self, *args, **options):
        started = time.monotonic()
        last = [0.0]

        def progress(key: str, after: int, n: int) -> None:
            if options["verbosity"] >= 2 and time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                self.stdout.write(f"  {key}: up to id {after}, {n} tokens")

        counts = search.reindex(options["types"], batch=options["batch"], progress=progress)
        if options["verbosity"]:
            for key, n in counts.items():
                self.stdout.write(f"{key}: {n} tokens")
            self.stdout.write(
                self.style.SUCCESS(f"search index rebuilt in {time.monotonic() - started:.1f} s")
            )
