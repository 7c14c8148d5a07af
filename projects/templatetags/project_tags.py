from django import template

register = template.Library()

_BADGES = {"all": ("ok", "All"), "read": ("grey", "Read-Only"), "none": ("bad", "None")}


@register.inclusion_tag("projects/_access_badge.html")
def access_badge(level: str) -> dict:
    """One access level ("all", "read", "none") as a badge."""
    css, label = _BADGES.get(level, _BADGES["none"])
    return {"css": css, "label": label}
