from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from core.forms import error_text
from projects import services
from projects.management.commands._project_arg import project_by_id


class Command(BaseCommand):
    help = "Remove a member from a project."

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("email")

    def handle(self, *args, project_id, email, **options):
        project = project_by_id(project_id)
        person = User.objects.filter(email=normalize_email(email)).first()
        if person is None:
            raise CommandError(f"No account with the e-mail {email}.")
        try:
            services.membership_remove(project=project, user=person, actor=None)
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from exc
        self.stdout.write(f"Removed {person.email} from {project.name}.")
