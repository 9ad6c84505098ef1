from django.core.management.base import BaseCommand, CommandError

from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.lockout import unlock_user
from huoban.platform.identity.models import User
from huoban.platform.identity.twofactor import two_factor_reset


class Command(BaseCommand):
    help = (
        "Remove a user's two-factor devices (they enrol again at next sign-in) and clear any "
        "login lockout. For an administrator who lost their phone; audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        two_factor_reset(actor=SystemActor("reset2fa"), user=user)
        unlock_user(user.username)
        self.stdout.write(self.style.SUCCESS(f"Two-factor authentication reset for {user.username}."))
