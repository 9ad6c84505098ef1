import getpass

from django.core.management.base import BaseCommand, CommandError

from huoban.platform.errors import ValidationError
from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import Role
from huoban.platform.identity.services import user_create


class Command(BaseCommand):
    help = "Create an administrator account."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=False)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="read from HUOBAN_ADMIN_PASSWORD or prompted when omitted")

    def handle(self, *args, **options):
        import os

        username = options["username"] or input("Username: ")
        password = (
            options["password"] or os.environ.get("HUOBAN_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        )
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
            raise CommandError(str(exc.errors))
        user.is_superuser = True
        user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
        self.stdout.write(self.style.SUCCESS(f"Administrator {username} created."))
