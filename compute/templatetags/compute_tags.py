from django import template

from compute.selectors import available_gpu_type_names

register = template.Library()


@register.inclusion_tag("compute/_gpu_types.html")
def project_gpu_types(project) -> dict:
    """The GPU types `project` may use, as badges (names only: members see them too); the
    project page and the Compute page show it."""
    if not project:
        return {"project": None}
    return {"project": project, "names": available_gpu_type_names(project=project)}
