from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from core.forms import error_text
from projects import services


class Command(BaseCommand):
    help = "Create a project owned by an account; prints its id."

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="the owner's e-mail")
        parser.add_argument("name")

    def handle(self, *args, owner, name, **options):
        person = User.objects.filter(email=normalize_email(owner)).first()
        if person is None:
            raise CommandError(f"No account with the e-mail {owner}.")
        try:
            project = services.project_create(owner=person, name=name)
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from exc
        self.stdout.write(str(project.pk))
