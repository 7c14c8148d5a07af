"""`manage.py refresh_gpu_types PROJECT_ID … | --all`: what the owner's Refresh button does."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compute.services import project_gpu_types_refresh
from projects.models import Project


class Command(BaseCommand):
    help = "Recompute and store the available GPU types of projects (Personal ones are always current)."

    def add_arguments(self, parser):
        parser.add_argument("project_ids", nargs="*", metavar="PROJECT_ID")
        parser.add_argument("--all", action="store_true", help="every non-personal project")

    def handle(self, *args, project_ids, all, **options):
        if bool(project_ids) == bool(all):
            raise CommandError("Give project ids or --all (not both).")
        if all:
            projects = list(Project.objects.filter(is_personal=False).order_by("name"))
        else:
            projects = []
            for pid in project_ids:
                try:
                    projects.append(Project.objects.get(pk=pid))
                except (Project.DoesNotExist, ValueError, ValidationError):
                    raise CommandError(f"No project with id {pid}.") from None
        for project in projects:
            stored = project_gpu_types_refresh(project=project, actor=None)
            slugs = ", ".join(t.slug for t in stored.gpu_types.all()) or "none"
            self.stdout.write(f"{project.pk} {project.name}: {slugs}")
        self.stdout.write(self.style.SUCCESS(f"refreshed {len(projects)} project(s)"))
