"""The header's sections, each marked current when the page belongs to it (values, no markup)."""

from __future__ import annotations

from django.conf import settings

# (label, URL name, the URL namespace or URL-name prefix of the pages it is current on)
SECTIONS = (
    ("Projects", "projects:list", "projects:"),
    ("Jobs", "resources:job-list", "job-"),
    ("Datasets", "resources:dataset-list", "dataset-"),
    ("Models", "resources:model-list", "model-"),
    ("Compute", "compute:node-list", "compute:"),
    ("Billing", "billing:overview", "billing:"),
)


def _is_current(marks: str, match) -> bool:
    if match is None:
        return False
    if marks.endswith(":"):
        return match.namespace == marks[:-1]
    return (match.url_name or "").startswith(marks)


def layout(request) -> dict:
    match = getattr(request, "resolver_match", None)
    sections = [{"label": label, "url_name": name, "current": _is_current(marks, match)}
                for label, name, marks in SECTIONS]
    return {"nav_sections": sections,
            # what the cached header links vary on (templates/_nav.html)
            "nav_current": next((s["label"] for s in sections if s["current"]), ""),
            "password_signup": settings.TRAINSHED_PASSWORD_SIGNUP}
