from django.core.management.base import BaseCommand, CommandError

from workforce.models import User
from workforce.selectors import accounts as selectors
from workforce.services import accounts as services


class Command(BaseCommand):
    help = "Create an API key for a user and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The user's email address.")
        parser.add_argument("--name", default="command line", help="A name to recognise the key.")

    def handle(self, *args, email: str, name: str, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user has the email address {email}.")
        if not selectors.roles_of(user=user):
            raise CommandError(
                f"{email} holds no role yet (requester, worker, vendor manager, finance or "
                "admin), so a key could do nothing."
            )
        _, raw_key = services.api_key_create(user=user, name=name)
        self.stdout.write(raw_key)
