"""`{% keys_section_context as ks %}`: what `_keys_section.html` shows, for the owner only.

The lead's project page includes `projects/_keys_section.html` with `project` in its context; the
tag asks the access rule itself, so the section renders nothing at all for anyone but the owner.
"""

from django import template

from projects import access

register = template.Library()


@register.simple_tag(takes_context=True)
def keys_section_context(context) -> dict | None:
    computed = context.get("ks")
    if isinstance(computed, dict) and computed.get("keys_ready"):
        return computed  # a keys view computed it already (possibly with form errors)
    request = context.get("request")
    project = context.get("project")
    user = getattr(request, "user", None)
    if request is None or project is None or not access.can(user, project, "secrets"):
        return None
    from projects.views_keys import section_context

    return section_context(request=request, project=project)
