"""The Compute page (an owner's own nodes) and a project's compute settings (owner only)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from compute import selectors, services
from compute.forms import NodeForm
from compute.models import ComputeNode
from core.forms import error_text
from projects import access
from projects.services import project_settings_update


def _own_node(request: HttpRequest, node_id) -> ComputeNode:
    """One of the requesting person's nodes; anyone else's node is a 404 like a missing id."""
    try:
        return selectors.node_of_owner(owner=request.user, node_id=node_id)
    except ComputeNode.DoesNotExist as exc:
        raise Http404 from exc


# ---- the Compute page -------------------------------------------------------------------------


def _node_list_context(request: HttpRequest) -> dict:
    return {
        "nodes": selectors.nodes_of_owner(owner=request.user),
        "public_capacity": selectors.public_capacity(),
        "owned_projects": [
            p for p in request.user.owned_projects.order_by("name") if not p.is_personal
        ],
    }


@login_required
@require_http_methods(["GET"])
def node_list(request: HttpRequest) -> HttpResponse:
    return render(request, "compute/node_list.html", _node_list_context(request))


def _node_form_page(request: HttpRequest, *, node: ComputeNode | None) -> HttpResponse:
    form = NodeForm(request.POST or None, instance=node)
    if request.method == "POST" and form.is_valid():
        fields = {f: form.cleaned_data[f] for f in NodeForm.Meta.fields}
        try:
            if node is None:
                saved = services.node_create(owner=request.user, actor=request.user, **fields)
                messages.success(
                    request,
                    f"Node “{saved.name}” added. It is offline until its agent sends a heartbeat.",
                )
                return _token_page(request, saved)
            else:
                saved = services.node_update(node=node, actor=request.user, **fields)
                messages.success(request, f"Node “{saved.name}” saved.")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("compute:node-list")
    return render(request, "compute/node_form.html", {"form": form, "node": node})


@login_required
@require_http_methods(["GET", "POST"])
def node_create(request: HttpRequest) -> HttpResponse:
    return _node_form_page(request, node=None)


@login_required
@require_http_methods(["GET", "POST"])
def node_edit(request: HttpRequest, node_id) -> HttpResponse:
    return _node_form_page(request, node=_own_node(request, node_id))


def _after_node_action(request: HttpRequest, text: str, *, error: bool = False) -> HttpResponse:
    if request.htmx:
        context = _node_list_context(request)
        context["notice"] = {"text": text, "error": error}
        return render(request, "compute/node_list.html#node-table", context)
    (messages.error if error else messages.success)(request, text)
    return redirect("compute:node-list")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def node_drain(request: HttpRequest, node_id) -> HttpResponse:
    node = services.node_drain(node=_own_node(request, node_id), actor=request.user)
    return _after_node_action(
        request, f"“{node.name}” is draining: no new work goes there; running work continues."
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def node_resume(request: HttpRequest, node_id) -> HttpResponse:
    node = services.node_resume(node=_own_node(request, node_id), actor=request.user)
    return _after_node_action(request, f"“{node.name}” accepts new work again.")


@login_required
@require_http_methods(["GET", "POST"])
def node_remove(request: HttpRequest, node_id) -> HttpResponse:
    node = _own_node(request, node_id)
    if request.method == "POST":
        try:
            services.node_remove(node=node, actor=request.user)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Node “{node.name}” removed.")
        return redirect("compute:node-list")
    return render(request, "compute/node_confirm_delete.html", {"node": node})


def _token_page(request: HttpRequest, node: ComputeNode) -> HttpResponse:
    """A new token, shown in this answer only (never in a URL, a session or a log)."""
    token = services.node_token_issue(node=node, actor=request.user)
    response = render(request, "compute/node_token.html", {
        "node": node, "token": token, "server_url": request.build_absolute_uri("/").rstrip("/")})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def node_token(request: HttpRequest, node_id) -> HttpResponse:
    """Issue a new token for one of my nodes (rotating: the old one stops working)."""
    return _token_page(request, _own_node(request, node_id))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def node_token_revoke(request: HttpRequest, node_id) -> HttpResponse:
    node = services.node_token_revoke(node=_own_node(request, node_id), actor=request.user)
    return _after_node_action(
        request, f"The token of “{node.name}” is revoked: its agent stops at its next request.")


# ---- a project's compute settings (owner only) ------------------------------------------------


def _settings_context(project) -> dict:
    gpu_types = selectors.available_gpu_types(project=project)  # a first list if never refreshed
    stored = None if project.is_personal else selectors.project_compute(project=project)
    return {
        "project": project,
        "stored": stored,
        "gpu_types": gpu_types,
        "stale_setting": stored is not None
        and stored.owned_only_at_refresh != project.owned_compute_only,
        "owner_nodes_online": ComputeNode.objects.filter(owner_id=project.owner_id).online().count(),
    }


@login_required
@require_http_methods(["GET"])
def project_settings(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    return render(request, "compute/project_settings.html", _settings_context(project))


def _after_settings_action(request, project, text: str, *, error: bool = False) -> HttpResponse:
    if request.htmx:
        context = _settings_context(project)
        context["notice"] = {"text": text, "error": error}
        return render(request, "compute/project_settings.html#compute-settings", context)
    (messages.error if error else messages.success)(request, text)
    return redirect("compute:project-settings", project_id=project.pk)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def project_settings_update_view(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    wanted = request.POST.get("owned_compute_only") in ("on", "true", "1")
    try:
        project = project_settings_update(project=project, actor=request.user, owned_compute_only=wanted)
    except ValidationError as exc:
        return _after_settings_action(request, project, error_text(exc), error=True)
    text = (
        "Settings updated: new jobs, datasets and models use only your own compute."
        if project.owned_compute_only
        else "Settings updated: the project may use public compute as well as yours."
    )
    names = ", ".join(t.name for t in selectors.available_gpu_types(project=project)) or "none"
    return _after_settings_action(request, project, f"{text} Available GPU types refreshed: {names}.")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def project_gpu_refresh(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    if project.is_personal:
        return _after_settings_action(
            request, project,
            "The Personal project cannot be configured: its GPU types refresh automatically.",
            error=True,
        )
    stored = services.project_gpu_types_refresh(project=project, actor=request.user)
    names = ", ".join(t.name for t in stored.gpu_types.all()) or "none"
    return _after_settings_action(request, project, f"Available GPU types refreshed: {names}.")
