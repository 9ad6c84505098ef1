import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from huoban.platform.errors import ValidationError
from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import Role
from huoban.platform.identity.services import user_create


class Command(BaseCommand):
    help = (
        "Create an administrator account. Non-interactive with --username/--password or the "
        "HUOBAN_ADMIN_USERNAME / HUOBAN_ADMIN_PASSWORD environment variables (--noinput never prompts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=False, help="or HUOBAN_ADMIN_USERNAME")
        parser.add_argument("--email", default=os.environ.get("HUOBAN_ADMIN_EMAIL", ""))
        parser.add_argument("--password", help="or HUOBAN_ADMIN_PASSWORD; prompted when omitted")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="never prompt"
        )

    def handle(self, *args, **options):
        interactive = options["interactive"]
        username = options["username"] or os.environ.get("HUOBAN_ADMIN_USERNAME", "")
        if not username:
            if not interactive:
                raise CommandError("--username (or HUOBAN_ADMIN_USERNAME) is required with --noinput.")
            username = input("Username: ")
        password = options["password"] or os.environ.get("HUOBAN_ADMIN_PASSWORD", "")
        if not password:
            if not interactive:
                raise CommandError("--password (or HUOBAN_ADMIN_PASSWORD) is required with --noinput.")
            password = getpass.getpass("Password: ")
        role = Role.objects.filter(code="administrator").first()
        try:
            user = user_create(
                actor=SystemActor("createadmin"),
                username=username,
                password=password,
                email=options["email"],
                roles=[role] if role else [],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.errors.items())
            )
        user.is_superuser = True
        user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
        self.stdout.write(self.style.SUCCESS(f"Administrator {username} created."))
