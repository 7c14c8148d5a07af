"""Running a job again: "Run again" (a new job with the same spec, started) and "Copy to new job"
(the create form filled in from the job). Both need jobs "all" in the job's own project; a job of
a project the person can't read is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.forms import error_text
from projects import access
from resources.jobs import selectors, services
from resources.jobs.forms import JobForm
from resources.jobs.views import START_NEWS, _owning


def _job(request: HttpRequest, pk):
    project = _owning(request, pk)
    return access.require_object(request.user, project, "jobs", "manage",
                                 lambda: selectors.job_get(project=project, pk=pk))


@login_required
@require_POST
def job_run_again(request: HttpRequest, pk) -> HttpResponse:
    job = _job(request, pk)
    try:
        copy = services.job_copy(job=job, actor=request.user, start=True)
    except ValidationError as exc:
        # Nothing was created (one transaction): say why on the job the person came from.
        messages.error(request, f"Could not run {job.name} again: {error_text(exc)}")
        return redirect("resources:job-detail", pk=job.pk)
    messages.success(request, f"Created {copy.name} as a copy of the job you ran. Starting it.",
                     extra_tags=START_NEWS)
    return redirect("resources:job-detail", pk=copy.pk)


@login_required
@require_GET
def job_copy(request: HttpRequest, pk) -> HttpResponse:
    """The new-job form with the job's values; it posts to `job-create` like any new job."""
    job = _job(request, pk)
    if request.project is None or job.project.pk != request.project.pk:
        # The form makes the copy in the active project, as every create form does: say so
        # on the job's page, whose banner makes its project the active one in a click.
        messages.info(request, f"A copy is made in the active project: make {job.project.name} active "
                               "to copy this job there.")
        return redirect("resources:job-detail", pk=job.pk)
    form = JobForm(initial=JobForm.initial_from(job), active_project=job.project, user=request.user)
    return render(request, "resources/job_form.html", {"project": job.project, "form": form,
                                                        "copied_from": job})
