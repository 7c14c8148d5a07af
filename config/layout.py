"""The layout's `<head>` tags and header, built in Python.

Every page with the layout prints them. As template text they were a third of a list page's
rendering: `{% static %}` looks each file's hashed name up anew, and the template language
spends about 13 µs on every value it prints. Here the `<head>` tags are built once per process
(the static files' URLs don't change while it runs) and the header is a few string joins,
escaped as `format_html` escapes (`config.html.html_row`). `templates/base.html` places both.

The header: the brand, the project switcher (when the person can view a project besides the
active one; its choices load when it is opened, from `projects:switcher`), the main navigation
and the account menu; for anyone signed out, the sign-in links.
"""

from __future__ import annotations

from functools import lru_cache, partial

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString
from django_htmx.jinja import htmx_script

from config.html import html_join, html_row

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
    "new_project": "projects:create",
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


def fixed_links() -> dict[str, str]:
    """The layout's fixed links by key (`LINKS`), reversed once per URLconf."""
    return _reversed(get_urlconf(), get_script_prefix())[1]


def _nav(request) -> SafeString:
    sections = _reversed(get_urlconf(), get_script_prefix())[0]
    match = getattr(request, "resolver_match", None)
    return html_join(
        html_row('<li><a href="{url}"{current}>{label}</a></li>\n', url=url, label=label,
                 current=SafeString(' aria-current="page"' if _is_current(marks, match) else ""))
        for label, url, marks in sections
    )


@lru_cache(maxsize=1)
def _logo() -> str:
    return static("img/trainshed.svg")


@lru_cache(maxsize=1)
def head_tags() -> SafeString:
    """The `<head>` tags every page shares: icon, style sheets, htmx and the app's script."""
    return html_join([
        html_row('<link rel="icon" href="{icon}" type="image/svg+xml">\n'
                 '  <link rel="stylesheet" href="{pico}">\n'
                 '  <link rel="stylesheet" href="{app}">\n'
                 '  <meta name="htmx-config" content=\'{{"includeIndicatorStyles": false}}\'>\n  ',
                 icon=_logo(), pico=static("vendor/pico/pico.min.css"), app=static("css/app.css")),
        htmx_script(minified=True),
        html_row('\n  <script src="{js}" defer></script>', js=static("js/app.js")),
    ])


@receiver(setting_changed)
def _static_changed(*, setting, **kwargs) -> None:
    if setting in {"STATIC_URL", "STORAGES", "DEBUG"}:  # DEBUG: htmx's script adds its debug help
        _logo.cache_clear()
        head_tags.cache_clear()


def csrf_token(request) -> str:
    """Django's `get_token(request)`, masked once per request: a page's forms all carry the same
    token (each `get_token` masks the secret anew, 32 characters drawn one by one from the OS;
    a project page's header, rows and forms asked three times). Masked again if the secret
    changes in the request (a sign-in rotates it)."""
    secret = request.META.get("CSRF_COOKIE")
    kept = getattr(request, "_trainshed_csrf", None)
    if kept is None or kept[0] != secret:
        token = get_token(request)
        kept = request._trainshed_csrf = (request.META.get("CSRF_COOKIE"), token)
    return kept[1]


def csrf_input(request) -> SafeString:
    """The hidden input of a POST form with `csrf_token(request)`: what `{% csrf_token %}` prints."""
    return html_row('<input type="hidden" name="csrfmiddlewaretoken" value="{token}">',
                    token=csrf_token(request))


def _switcher(request, project, links: dict, csrf: SafeString) -> SafeString:
    """The switcher: the active project's name; the choices' placeholder, replaced by them when
    the switcher is first pointed at or opened (without JavaScript it links to the dashboard);
    one hidden form that every choice's button posts."""
    return html_row(
        '<details class="dropdown switcher" id="project-switcher">\n'
        '  <summary aria-label="Active project"><span class="muted small">Project</span> '
        "<strong>{name}</strong></summary>\n"
        '  <ul id="switcher-choices" hx-get="{choices}" hx-swap="outerHTML" hx-sync="this:drop"\n'
        '      hx-trigger="mouseenter from:#project-switcher, focusin from:#project-switcher, '
        'toggle from:#project-switcher">\n'
        '      <li><a href="{projects}">Your projects →</a></li>\n'
        "  </ul>\n"
        "</details>\n"
        '<form id="switcher-form" method="post" action="{switch}" hx-post="{switch}" hidden>\n'
        '  {csrf}<input type="hidden" name="next" value="{here}">\n'
        "</form>",
        name=project.name, choices=links["switcher"], projects=links["projects"], switch=links["switch"],
        csrf=csrf, here=request.get_full_path(),
    )


def header(request) -> SafeString:
    """The page's `<header>` for the person signed in, in the active project."""
    user, links = getattr(request, "user", None), fixed_links()
    if user is None or not user.is_authenticated:
        return html_row(
            '<header class="topbar">\n  <nav class="container">\n    <ul>\n'
            '      <li><a href="{home}" class="brand"><img src="{logo}" alt="" width="24" height="24"> '
            "Trainshed</a></li>\n    </ul>\n"
            '    <ul>\n      <li><a href="{login}">Sign in</a></li>\n'
            '      <li><a href="{signup}" role="button" class="outline">Sign up</a></li>\n    </ul>\n'
            "  </nav>\n</header>",
            home=links["home"], logo=_logo(), login=links["login"], signup=links["signup"],
        )
    csrf = csrf_input(request)
    project = getattr(request, "project", None)
    switcher = ""
    if project and project.has_other_projects:
        switcher = _switcher(request, project, links, csrf)
    admin = ""
    if user.is_staff:
        admin = html_row('<li dir="ltr"><a href="{admin}">Admin</a></li>', admin=links["admin"])
    return html_row(
        '<header class="topbar">\n  <nav class="container">\n    <ul>\n'
        '      <li><a href="{home}" class="brand"><img src="{logo}" alt="" width="24" height="24"> '
        "Trainshed</a></li>\n"
        '      <li id="switcher-slot">{switcher}</li>\n'
        '    </ul>\n    <ul class="mainnav">\n{items}'
        '      <li>\n        <details class="dropdown account-menu">\n'
        "          <summary>{short_name}</summary>\n"
        '          <ul dir="rtl">\n'
        '            <li class="muted small" dir="ltr">{email}</li>\n'
        '            <li dir="ltr"><a href="{settings}">Account settings</a></li>\n'
        '            <li dir="ltr"><a href="{change_password}">Change password</a></li>\n'
        '            <li dir="ltr"><a href="{emails}">E-mail addresses</a></li>\n'
        "            {admin}\n"
        '            <li dir="ltr">\n'
        '              <form method="post" action="{logout}" class="inline">{csrf}\n'
        '                <button type="submit" class="linklike">Sign out</button>\n'
        "              </form>\n            </li>\n          </ul>\n        </details>\n      </li>\n"
        "    </ul>\n  </nav>\n</header>",
        home=links["home"], logo=_logo(), switcher=switcher, items=_nav(request),
        short_name=user.get_short_name(), email=user.email, settings=links["settings"],
        change_password=links["change_password"], emails=links["emails"], admin=admin,
        logout=links["logout"], csrf=csrf,
    )


def context(request) -> dict:
    """For `config.context_processors.layout`: both built only if the page prints them; and the
    page's CSRF token (`csrf_token`, in place of Django's: the same token, masked once) and its
    hidden input (`{{ csrf_input }}`: `{% csrf_token %}` without the template tag's work)."""
    return {"links": fixed_links(), "layout_head": head_tags, "layout_header": partial(header, request),
            "csrf_token": SimpleLazyObject(partial(csrf_token, request)),
            "csrf_input": partial(csrf_input, request)}


__all__ = ["context", "csrf_input", "csrf_token", "fixed_links", "head_tags", "header"]
