"""The owner's one-click stop of a running job whose member left or was removed (listed on the
project page by the `former_member_jobs` tag)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import error_text
from resources.jobs.removal import former_member_job_stop


@login_required
@require_POST
def former_member_job_stop_view(request: HttpRequest, project_id, pk) -> HttpResponse:
    try:
        job = former_member_job_stop(project_id=project_id, pk=pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Stopping {job.name}.")
    return redirect(reverse("projects:detail", kwargs={"project_id": project_id}) + "#members")
