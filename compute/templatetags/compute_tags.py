from django import template

from compute.selectors import available_gpu_types

register = template.Library()


@register.simple_tag
def project_gpu_types(project):
    """The GPU types `project` may use (names only are shown to members)."""
    if not project:
        return []
    return available_gpu_types(project=project)
