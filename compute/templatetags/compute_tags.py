from django import template
from django.utils.safestring import SafeString

from compute.selectors import available_gpu_type_names
from config.html import html_join, html_row

register = template.Library()

_NONE = SafeString('<span class="small muted">none right now</span>')


@register.simple_tag
def project_gpu_types(project) -> SafeString:
    """The GPU types `project` may use, as badges (names only: members see them too); the
    project page and the Compute page show it. A shared project's names are kept between views
    until it changes (`available_gpu_type_names`)."""
    if not project:
        return SafeString("")
    badges = html_join(html_row('<span class="badge grey">{name}</span> ', name=name)
                       for name in available_gpu_type_names(project=project))
    return html_row('<div class="gpu-types" id="project-gpu-types-{pk}">\n'
                    '  <span class="small muted">Available GPU types:</span>\n  {badges}\n</div>',
                    pk=project.pk, badges=badges or _NONE)
