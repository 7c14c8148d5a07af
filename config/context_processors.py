"""The layout's links: the main navigation and the account menu, reversed once per URLconf.

`{% url %}` resolves its pattern on every use; the header has a dozen fixed links on every page,
which cost more than the rest of the layout together. They never change while the process runs.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

# (label, URL name, the URL namespace or URL-name prefix whose pages it is current on)
SECTIONS = (
    ("Projects", "projects:list", "projects:"),
    ("Jobs", "resources:job-list", "job-"),
    ("Datasets", "resources:dataset-list", "dataset-"),
    ("Models", "resources:model-list", "model-"),
    ("Compute", "compute:node-list", "compute:"),
    ("Billing", "billing:overview", "billing:"),
)
LINKS = {
    "home": "home",
    "settings": "accounts:settings",
    "change_password": "account_change_password",
    "emails": "account_email",
    "admin": "admin:index",
    "logout": "account_logout",
    "login": "account_login",
    "signup": "account_signup",
    "projects": "projects:list",
    "switcher": "projects:switcher",
    "switch": "projects:switch",
}


@lru_cache(maxsize=8)
def _reversed(urlconf, prefix: str) -> tuple[tuple[tuple[str, str, str], ...], dict[str, str]]:
    sections = tuple((label, reverse(name, urlconf=urlconf), marks) for label, name, marks in SECTIONS)
    return sections, {key: reverse(name, urlconf=urlconf) for key, name in LINKS.items()}


def _is_current(marks: str, match) -> bool:
    if match is None:
        return False
    if marks.endswith(":"):
        return match.namespace == marks[:-1]
    return (match.url_name or "").startswith(marks)


def layout_links(request):
    sections, links = _reversed(get_urlconf(), get_script_prefix())
    match = getattr(request, "resolver_match", None)
    nav = [{"label": label, "url": url, "current": _is_current(marks, match)}
           for label, url, marks in sections]
    return {"nav": nav, "links": links}
