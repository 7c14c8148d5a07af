"""Job pages. Each asks `access.require(user, project, "jobs", …)` in the active project (one job's
pages: in the job's own project, `access.object_project`) and looks the job up inside it (a job
in a project the person may not read is a 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from compute.relay import notebook_ticket
from compute.services import node_relay_secret
from core.forms import apply_service_errors, error_text
from core.paging import page_of
from projects import access
from resources.badges import job_badge
from resources.jobs import selectors, services
from resources.jobs.forms import JobForm
from resources.models import Job, JobStatus, JobType
from resources.signals import job_charges
from resources.views import active_project, after_removal_url

PAGE_SIZE = 10
#: The tag of a flash message about a job's start: the job page's poll removes it once the job has
#: moved on (its status says what happens now; "Starting" would be stale).
START_NEWS = "job-start"


def _owning(request: HttpRequest, pk):
    """The job's own project (not necessarily the active one): a link to a job works wherever the
    person may read its jobs, and every action on it acts in that project."""
    return access.object_project(request.user, Job, pk, "jobs")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_list(request: HttpRequest) -> HttpResponse:
    project = active_project(request)
    access.require(request.user, project, "jobs", "read")
    status = request.GET.get("status") or ""
    if status not in JobStatus.values:
        status = ""
    page = page_of(selectors.jobs_for_list(project=project, status=status or None), request.GET.get("page"),
                   size=PAGE_SIZE)
    for job in page:
        job.badge = job_badge(job.status)
    # The rows' cached fragment is keyed by all they show (a job's creation time never changes).
    rows_key = [(job.pk, job.name, job.type, job.status, job.gpu_count, job.gpu_type.name,
                 job.node and job.node.name, job.gpu_hours, job.created_by and job.created_by.email)
                for job in page]
    context = {
        "project": project, "page": page, "rows_key": rows_key,
        "status": status, "statuses": JobStatus.choices,
        "can_manage": access.can(request.user, project, "jobs", "manage"),
        "polling": any(job.is_active for job in page),
    }
    template = "resources/job_list.html"
    if request.htmx:
        template += "#job-table"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def job_create(request: HttpRequest) -> HttpResponse:
    project = active_project(request)
    access.require(request.user, project, "jobs", "manage")
    form = JobForm(request.POST or None, active_project=project, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.job_create(
                project=project, actor=request.user, name=data["name"], type=data["type"],
                gpu_type=data["gpu_type"], gpu_count=data["gpu_count"], disk_gb=data["disk_gb"],
                command=data["command"], env=data["env"], input_datasets=data["input_datasets"],
                input_model=data["input_model"], output_type=data["output_type"], port=data["port"],
            )
            if request.POST.get("start"):
                services.job_start(job=job, actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            started = " Starting it." if request.POST.get("start") else ""
            messages.success(request, f"Created {job.name}.{started}",
                             extra_tags=START_NEWS if started else "")
            return redirect("resources:job-detail", pk=job.pk)
    return render(request, "resources/job_form.html", {"project": project, "form": form},
                  status=200)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_detail(request: HttpRequest, pk) -> HttpResponse:
    project = _owning(request, pk)
    access.require(request.user, project, "jobs", "read")
    job = selectors.job_get(project=project, pk=pk)
    context = {
        "project": project, "job": job,
        "events": selectors.job_events(job=job),
        # The live page's log updates itself (hx-preserve, its own poll): its poll skips the log.
        "log": None if request.htmx and job.is_active else selectors.job_log_part(job=job),
        "job_url": selectors.job_url(job=job),
        "output_models": list(job.output_models.all()),
        "credits": job_charges(job=job),
        "can_manage": access.can(request.user, project, "jobs", "manage"),
        "polling": job.is_active,
        "start_news_over": job.status not in (JobStatus.NEW, JobStatus.STARTING),
    }
    template = "resources/job_detail.html"
    if request.htmx:
        template += "#job-live"
    return render(request, template, context)


@login_required
@require_GET
def job_log(request: HttpRequest, pk) -> HttpResponse:
    """The whole log as a text file (secrets redacted)."""
    project = _owning(request, pk)
    access.require(request.user, project, "jobs", "read")
    job = selectors.job_get(project=project, pk=pk)
    response = StreamingHttpResponse(selectors.job_log_stream(job=job),
                                     content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(job.name) or "job"}.log"'
    return response


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_log_part(request: HttpRequest, pk) -> HttpResponse:
    """The lines before byte `before` of the log ("load earlier" on the job page); `after` is how
    many lines the page shows after it already (for the count of those left)."""
    project = _owning(request, pk)
    if "since" in request.GET:
        return _log_news(request, project, pk)
    job = selectors.job_get(project=project, pk=pk)
    try:
        before, after = int(request.GET.get("before", "")), int(request.GET.get("after", "0"))
    except ValueError:
        before, after = None, 0
    part = selectors.job_log_part(job=job, before=before, after_lines=max(0, after))
    template = "resources/job_log_part.html"
    if request.htmx:
        template += "#log-part"
    return render(request, template, {"project": project, "job": job, "part": part,
                                      "after": max(0, after) + part.lines})


def _log_news(request: HttpRequest, project, pk) -> HttpResponse:
    """The job page's live log poll (every 0.5 s while the job is active): the lines stored after
    byte `since`, appended to the page's log (a poll with nothing new reads no chunk). The tail
    replaces the page's log when it showed nothing yet, or would show over twice TAIL_LINES."""
    job = selectors.job_for_log(project=project, pk=pk)
    job.project = project  # the redactor's project, already read
    try:
        since, shown = max(0, int(request.GET.get("since", ""))), max(0, int(request.GET.get("shown", "0")))
    except ValueError:
        since, shown = 0, 0
    part = selectors.job_log_after(job=job, after=since)
    replace = (part is None or (since == 0 and bool(part.text))
               or shown + part.lines > 2 * selectors.TAIL_LINES)
    if replace:
        part = selectors.job_log_part(job=job)
        shown = part.lines
    else:
        shown += part.lines
    return render(request, "resources/job_detail.html#log-news",
                  {"project": project, "job": job, "part": part, "replace": replace, "shown": shown,
                   "since": since, "polling": job.is_active})


@login_required
@require_GET
def job_open(request: HttpRequest, pk) -> HttpResponse:
    """A running notebook (through its node's agent, with a short-lived ticket; the agent asks
    again on every request) or endpoint: read access suffices."""
    project = _owning(request, pk)
    access.require(request.user, project, "jobs", "read")
    job = selectors.job_get(project=project, pk=pk)
    url = selectors.job_url(job=job)
    if url is None:
        raise Http404("This job is not serving anything now.")
    if job.type == JobType.NOTEBOOK:
        secret = node_relay_secret(node=job.node)
        ticket = notebook_ticket(secret, user_id=request.user.pk, job_id=job.pk)
        url = f"{job.node.agent_url.rstrip('/')}/notebook/{job.pk}/lab?trainshed_ticket={ticket}"
    return redirect(url)


def _action(request: HttpRequest, pk, fn, done: str, tags: str = "") -> HttpResponse:
    project = _owning(request, pk)
    job = access.require_object(
        request.user, project, "jobs", "manage", lambda: selectors.job_get(project=project, pk=pk)
    )
    try:
        fn(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done.format(name=job.name), extra_tags=tags)
    return redirect("resources:job-detail", pk=job.pk)


@login_required
@require_POST
def job_start(request: HttpRequest, pk) -> HttpResponse:
    return _action(request, pk, services.job_start, "Starting {name}.", tags=START_NEWS)


@login_required
@require_POST
def job_stop(request: HttpRequest, pk) -> HttpResponse:
    return _action(request, pk, services.job_stop, "Stopping {name}.")


@login_required
@require_http_methods(["GET", "POST"])
def job_remove(request: HttpRequest, pk) -> HttpResponse:
    project = _owning(request, pk)
    job = access.require_object(
        request.user, project, "jobs", "manage", lambda: selectors.job_get(project=project, pk=pk)
    )
    if request.method == "POST":
        services.job_remove(job=job, actor=request.user)
        messages.success(request, f"Removed {job.name}." + (" It is being stopped." if job.status ==
                                                              JobStatus.RUNNING else ""))
        return redirect(after_removal_url(request, project, "resources:job-list"))
    return render(request, "resources/job_confirm_remove.html", {"project": project, "job": job})
