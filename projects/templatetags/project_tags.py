from django import template
from django.utils.html import format_html

register = template.Library()

_BADGES = {"all": ("ok", "All"), "read": ("grey", "Read-Only"), "none": ("bad", "None")}


@register.simple_tag
def access_badge(level: str):
    """One access level as a badge (a tag, not an include: dashboards render hundreds)."""
    css, label = _BADGES.get(level, _BADGES["none"])
    return format_html('<span class="badge {}">{}</span>', css, label)
