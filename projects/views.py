from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from projects import access, selectors
from projects.middleware import SESSION_KEY


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "projects/home.html", {"projects": selectors.projects_for_user(user=request.user)}
    )


def _safe_next(request: HttpRequest, project, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.headers.get("referer") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return _outside_object(target, request.user, project) or reverse(fallback)
    return reverse(fallback)


def _outside_object(target: str, user, project) -> str | None:
    """After a switch, a page about one object of the old project (e.g. /datasets/<id>/) would be
    a 404: go to the list of the same kind ("…-detail" -> "…-list") instead; and a page of a
    resource type the person may not read in the new project (its URL says `kind`) goes home."""
    path = urlsplit(target).path
    try:
        match = resolve(path)
    except Resolver404:
        return None
    kind = match.extra_kwargs.get("kind")
    if kind and not access.can(user, project, kind, "read"):
        return None
    if not match.captured_kwargs:
        return target
    base = match.url_name.rsplit("-", 1)[0] if match.url_name else ""
    try:
        return reverse(f"{match.namespace}:{base}-list" if match.namespace else f"{base}-list")
    except NoReverseMatch:
        return None


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Make another project the active one (htmx: the page reloads; without JS: a redirect)."""
    project = access.project_for(request.user, request.POST.get("project"))
    if project.is_personal:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = str(project.pk)
    messages.info(request, f"Active project: {project.name}.")
    target = _safe_next(request, project)
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)
