from django import template

from projects.badges import access_badge as badge

register = template.Library()


@register.inclusion_tag("projects/_access_badge.html")
def access_badge(level: str) -> dict:
    """One access level ("all", "read", "none") as a badge."""
    return badge(level)
