"""The "what stays on public compute" section of a project's compute settings (owner only), loaded
into that page by htmx once "only owned compute" is on; see `resources.owned_only`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.forms import error_text
from projects import access
from resources.owned_only import (
    public_files_move_start,
    public_jobs_stop,
    public_leftovers,
    public_leftovers_keep,
    public_move_latest,
    public_move_refusal,
)

TEMPLATE = "resources/public_leftovers.html"


def _render(request: HttpRequest, project, **context) -> HttpResponse:
    left = context.setdefault("left", public_leftovers(project=project))
    move = public_move_latest(project=project)
    context.setdefault("move", move)
    if left.dataset_count or left.model_count:
        context.setdefault("move_refusal", public_move_refusal(project=project))
    return render(request, TEMPLATE + ("#public-leftovers" if request.htmx else ""),
                  {"project": project, **context})


@login_required
@require_GET
@vary_on_headers("HX-Request")
def public_leftovers_view(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    return _render(request, project)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def public_leftovers_choose(request: HttpRequest, project_id) -> HttpResponse:
    """"stop" stops the jobs on public nodes; "move" moves the datasets and models to the owner's
    node (in the background); "keep" leaves everything as it is."""
    project = access.project_for(request.user, project_id, "project", "administer")
    choice = request.POST.get("choice")
    if choice == "move":
        try:
            move = public_files_move_start(project=project, actor=request.user)
        except ValidationError as exc:
            error = error_text(exc)
            if not request.htmx:
                messages.error(request, error)
                return redirect("resources:public-leftovers", project_id=project.pk)
            return _render(request, project, error=error)
        notice = f"Moving them to your node {move.node_name}…"
        if not request.htmx:
            messages.success(request, notice)
            return redirect("resources:public-leftovers", project_id=project.pk)
        return _render(request, project, move=move)
    if choice == "stop":
        stopped = public_jobs_stop(project=project, actor=request.user)
        notice = f"Stopping {stopped} job(s) on public nodes."
    else:
        public_leftovers_keep(project=project, actor=request.user)
        notice = "Kept: they stay on public compute until you remove them (jobs until they end)."
    if not request.htmx:
        return redirect("resources:public-leftovers", project_id=project.pk)
    return _render(request, project, notice=notice, kept=request.POST.get("choice") != "stop")
