from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_create


class Command(BaseCommand):
    help = "Create an account with a verified e-mail (and so its Personal project)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="Omit to create an account that cannot log in yet.")
        parser.add_argument("--name", default="")
        parser.add_argument("--staff", action="store_true", help="May use the admin site.")

    def handle(self, *args, email, password, name, staff, **options):
        try:
            user = user_create(
                email=email, password=password, name=name, verified=True, is_staff=staff
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} (id {user.pk})."))
