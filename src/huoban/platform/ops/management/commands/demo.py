from django.conf import settings
from django.core.management.base import BaseCommand

from huoban.platform.discovery import app_modules
from huoban.platform.ops import platform_demo  # noqa: F401  (registers the platform provider)
from huoban.platform.ops.demo import providers


class Command(BaseCommand):
    help = "Load demo data (idempotent: running it again changes nothing that exists)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        list(app_modules("demo"))  # importing registers each app's demo providers
        logins: list[str] = []
        for _order, name, fn in providers():
            result = fn()
            if not options["quiet"]:
                self.stdout.write(f"demo: {name} ok")
            if name == "platform.org":
                logins = list(result or [])
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo logins (password: %s): %s" % (settings.DEMO_PASSWORD, ", ".join(logins))
                )
            )
