from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.forms import error_text
from projects import services
from projects.management.commands._project_arg import project_by_id
from projects.models import Access, Invitation


class Command(BaseCommand):
    help = "Add a member to a project by e-mail (an unknown address gets an invitation)."

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("email")
        for field, default in (("jobs", "all"), ("datasets", "read"), ("models", "read")):
            parser.add_argument(f"--{field}", choices=Access.values, default=default)

    def handle(self, *args, project_id, email, jobs, datasets, models, **options):
        project = project_by_id(project_id)
        try:
            added = services.member_add_by_email(
                project=project, email=email, jobs=jobs, datasets=datasets, models=models, actor=None
            )
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from exc
        if isinstance(added, Invitation):
            self.stdout.write(f"Invited {added.email} to {project.name} (no account yet).")
        else:
            self.stdout.write(f"Added {added.user.email} to {project.name}.")
