"""The owner's setting "Members must use two-factor sign-in"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from core.forms import error_text
from projects import access, mfa
from projects.services import project_two_factor_set
from projects.views import members_page


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def two_factor_setting(request: HttpRequest, project_id) -> HttpResponse:
    """GET: the setting and who of a page of members has two-factor sign-in (the project page loads
    it when scrolled into view; without JavaScript, its own page). POST: turn it on or off."""
    project = access.project_for(request.user, project_id, "project", "administer")
    if request.method == "GET":
        if project.is_personal:
            raise Http404  # nobody else can join it
        page = members_page(project, request.GET.get("members_page"))
        template = "projects/_two_factor_setting.html" if request.htmx else "projects/project_two_factor.html"
        return render(request, template, {
            "project": project, **mfa.owner_panel(project=project, member_rows=page, is_owner=True)})
    required = request.POST.get("require_two_factor") in ("on", "true", "1")
    try:
        project = project_two_factor_set(project=project, actor=request.user, required=required)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Members must now use two-factor sign-in to open this project."
                         if project.require_two_factor else
                         "Members no longer need two-factor sign-in to open this project.")
    return redirect(reverse("projects:detail", kwargs={"project_id": project.pk}) + "#two-factor")
