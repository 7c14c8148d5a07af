"""`{% former_member_jobs %}`: on the project page, the owner's list of running jobs started by
people who are no longer members, each with a stop button (resources/jobs/removal.py)."""

from django import template

from projects import access
from resources.jobs.removal import former_members_running_jobs

register = template.Library()


@register.inclusion_tag("resources/_former_member_jobs.html", takes_context=True)
def former_member_jobs(context):
    project, request = context.get("project"), context.get("request")
    if project is None or request is None or not access.is_owner(request.user, project):
        return {"jobs": []}
    return {"jobs": former_members_running_jobs(project=project), "project": project,
            "csrf_token": context.get("csrf_token")}
