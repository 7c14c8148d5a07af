"""The header's sections, each marked current when the page belongs to it (values, no markup);
a resource type the person has "none" access to in the active project is left out."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from projects import access

# (label, URL name, the URL namespace or URL-name prefix of the pages it is current on, the
# resource type the person must be able to read in the active project to see it)
SECTIONS = (
    ("Projects", "projects:list", "projects:", None),
    ("Jobs", "resources:job-list", "job-", "jobs"),
    ("Datasets", "resources:dataset-list", "dataset-", "datasets"),
    ("Models", "resources:model-list", "model-", "models"),
    ("Compute", "compute:node-list", "compute:", None),
    ("Billing", "billing:overview", "billing:", None),
)


def _is_current(marks: str, match) -> bool:
    if match is None:
        return False
    if marks.endswith(":"):
        return match.namespace == marks[:-1]
    return (match.url_name or "").startswith(marks)


def _shown(request, kind: str | None) -> bool:
    # The active project's permissions were read with it (one query), so this asks nothing more.
    project = getattr(request, "project", None)
    return kind is None or not project or access.can(request.user, project, kind, "read")


def layout(request) -> dict:
    # Lazy: only a page that draws the header reads the active project (a bare page reads none).
    sections = SimpleLazyObject(lambda: _sections(request))
    return {"nav_sections": sections,
            # what the cached header links vary on (templates/_nav.html): the current one, and
            # which are shown (a type with "none" access has no link)
            "nav_key": SimpleLazyObject(lambda: ":".join(
                [next((s["label"] for s in sections if s["current"]), "")] + [s["label"] for s in sections])),
            "password_signup": settings.TRAINSHED_PASSWORD_SIGNUP}


def _sections(request) -> list[dict]:
    match = getattr(request, "resolver_match", None)
    return [{"label": label, "url_name": name, "current": _is_current(marks, match)}
            for label, name, marks, kind in SECTIONS if _shown(request, kind)]
