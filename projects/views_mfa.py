"""The owner's setting "Members must use two-factor sign-in"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import error_text
from projects import access
from projects.services import project_two_factor_set


@login_required
@require_POST
def two_factor_setting(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
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
