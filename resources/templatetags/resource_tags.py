from django import template

from resources.badges import job_badge, resource_badge

register = template.Library()

@register.inclusion_tag("resources/_status_badge.html")
def job_status_badge(job_or_status) -> dict:
    """A job's status as a badge (a job, or its status as a string)."""
    return job_badge(getattr(job_or_status, "status", job_or_status))


@register.inclusion_tag("resources/_status_badge.html")
def resource_status_badge(resource_or_status) -> dict:
    """A dataset's or model's status as a badge (the object, or its status as a string)."""
    return resource_badge(getattr(resource_or_status, "status", resource_or_status))
