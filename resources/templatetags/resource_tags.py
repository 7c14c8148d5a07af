from django import template

from resources import presenters

register = template.Library()

register.simple_tag(presenters.job_status_badge, name="job_status_badge")
register.simple_tag(presenters.resource_status_badge, name="resource_status_badge")
