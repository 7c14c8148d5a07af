from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from projects.models import Project


def project_by_id(project_id: str) -> Project:
    try:
        return Project.objects.select_related("owner").get(pk=project_id)
    except (Project.DoesNotExist, ValueError, ValidationError) as exc:
        raise CommandError(f"No project with the id {project_id}.") from exc
