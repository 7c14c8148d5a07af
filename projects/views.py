from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from projects import access, selectors
from projects.middleware import SESSION_KEY


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "projects/home.html", {"projects": selectors.projects_for_user(user=request.user)}
    )


def _safe_next(request: HttpRequest, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.headers.get("referer") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(fallback)


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
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(_safe_next(request))
