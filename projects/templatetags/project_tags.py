from django import template

from projects import presenters

register = template.Library()

# One access level as a badge (a tag, not an include: dashboards render hundreds).
register.simple_tag(presenters.access_badge, name="access_badge")
