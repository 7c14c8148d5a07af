"""Dataset and model pages. Each view gets `kind` ("datasets"/"models") from its URL pattern,
asks `access.require` about that kind in the active project (one object's pages: in the object's
own project, `access.object_project`), and looks objects up inside it."""

from __future__ import annotations

import posixpath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from core.forms import apply_service_errors, error_text
from core.paging import page_of
from projects import access
from resources import selectors, services, storage
from resources.badges import resource_badge
from resources.forms import RenameForm, UploadForm, UrlForm
from resources.models import StoredStatus

PAGE_SIZE = 10
LABELS = {
    "datasets": {"plural": "Datasets", "singular": "dataset", "url": "dataset"},
    "models": {"plural": "Models", "singular": "model", "url": "model"},
}
ACTIONS = ("list", "create", "import", "detail", "download", "file", "rename", "delete")


def _ctx(kind: str, **extra) -> dict:
    label = LABELS[kind]
    names = {a: f"resources:{label['url']}-{a}" for a in ACTIONS}
    return {"kind": kind, "label": label, "names": names, **extra}


def active_project(request: HttpRequest):
    """The active project a list or create page works in; without one (none left), a 404."""
    if not request.project:
        raise Http404
    return request.project


def after_removal_url(request: HttpRequest, project, list_name: str) -> str:
    """After removing a job/dataset/model: its list if its project is the active one, else that
    project's page (the list shows the active project's)."""
    if request.project and request.project.pk == project.pk:
        return reverse(list_name)
    return reverse("projects:detail", args=[project.pk])


def _owning(request: HttpRequest, kind: str, pk):
    """The project of the dataset/model `pk` (not necessarily the active one): links work wherever
    the person may read it, and actions on it act in its own project."""
    return access.object_project(request.user, selectors.KINDS[kind][0], pk, kind)


# ---- list ---------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def resource_list(request: HttpRequest, kind: str) -> HttpResponse:
    project = active_project(request)
    access.require(request.user, project, kind, "read")
    status = request.GET.get("status") or ""
    if status not in StoredStatus.values:
        status = ""
    sort = request.GET.get("sort") or selectors.DEFAULT_SORT
    if sort not in selectors.SORTS:
        sort = selectors.DEFAULT_SORT
    resources = selectors.resources_for_list(kind=kind, project=project, status=status or None, sort=sort)
    page = page_of(resources, request.GET.get("page"), size=PAGE_SIZE)
    for resource in page:
        resource.badge = resource_badge(resource.status)
    # The rows' cached fragment is keyed by all they show (a row's creation time never changes).
    rows_key = [(r.pk, r.name, r.status, r.size_bytes, r.file_count, r.created_by and r.created_by.email,
                 r.location_label) for r in page]
    context = _ctx(
        kind, project=project, page=page, rows_key=rows_key, status=status, sort=sort,
        statuses=StoredStatus.choices,
        can_manage=access.can(request.user, project, kind, "manage"),
        polling=any(resource.in_progress for resource in page),
    )
    template = "resources/resource_list.html"
    if request.htmx:
        template += "#resource-table"
    return render(request, template, context)


# ---- create -------------------------------------------------------------------------------------


def _render_create(request, kind, project, *, upload_form=None, url_form=None, status=200):
    upload_form = upload_form or UploadForm(active_project=project)
    url_form = url_form or UrlForm(active_project=project)
    return render(
        request, "resources/resource_form.html",
        _ctx(kind, project=project, upload_form=upload_form, url_form=url_form,
             max_bytes=storage.max_bytes()),
        status=status,
    )


def _created(request, kind, resource) -> HttpResponse:
    url = reverse(f"resources:{LABELS[kind]['url']}-detail", args=[resource.pk])
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return JsonResponse({"redirect": url})
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def resource_create(request: HttpRequest, kind: str) -> HttpResponse:
    """Upload files (or one archive) into the active project."""
    project = active_project(request)
    access.require(request.user, project, kind, "manage")
    if request.method == "GET":
        return _render_create(request, kind, project)
    refusal = storage.upload_refusal(request)  # refused before the body is read
    if refusal:
        form = UploadForm({"name": "", "active_project_id": str(project.pk)}, active_project=project)
        form.is_valid()
        form.errors.pop("name", None)
        form.add_error("files", refusal[1])
        return _render_create(request, kind, project, upload_form=form)
    form = UploadForm(request.POST, request.FILES, active_project=project)
    if form.is_valid():
        try:
            resource = services.resource_create_from_upload(
                kind=kind, project=project, name=form.cleaned_data["name"],
                files=form.cleaned_data["files"], created_by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, "files")
        else:
            messages.success(request, f"Uploaded {resource.name}: {resource.file_count} file(s), "
                                      f"{storage.human_size(resource.size_bytes)}.")
            return _created(request, kind, resource)
    return _render_create(request, kind, project, upload_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def resource_import(request: HttpRequest, kind: str) -> HttpResponse:
    """Create from an http(s) address that the worker downloads."""
    project = active_project(request)
    access.require(request.user, project, kind, "manage")
    if request.method == "GET":
        return _render_create(request, kind, project)
    form = UrlForm(request.POST, active_project=project)
    if form.is_valid():
        try:
            resource = services.resource_create_from_url(
                kind=kind, project=project, name=form.cleaned_data["name"],
                url=form.cleaned_data["url"], created_by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, "url")
        else:
            messages.success(request, f"{resource.name} will be downloaded in the background.")
            return _created(request, kind, resource)
    return _render_create(request, kind, project, url_form=form)


# ---- one resource ------------------------------------------------------------------------------


FILES_SHOWN = 500


@login_required
@require_GET
@vary_on_headers("HX-Request")
def resource_detail(request: HttpRequest, kind: str, pk) -> HttpResponse:
    project = _owning(request, kind, pk)
    access.require(request.user, project, kind, "read")
    resource = selectors.resource_get(kind=kind, project=project, pk=pk)
    files = list(selectors.resource_files(resource=resource)[:FILES_SHOWN])
    context = _ctx(
        kind, project=project, resource=resource, files=files,
        more_files=max(0, resource.file_count - len(files)),
        can_manage=access.can(request.user, project, kind, "manage"),
    )
    template = "resources/resource_detail.html"
    if request.htmx:
        template += "#resource-body"
    return render(request, template, context)


@login_required
@require_GET
def resource_download(request: HttpRequest, kind: str, pk) -> HttpResponse:
    """The whole resource as a zip, streamed as it is written."""
    project = _owning(request, kind, pk)
    access.require(request.user, project, kind, "read")
    resource = selectors.resource_get(kind=kind, project=project, pk=pk)
    if resource.status != StoredStatus.READY:
        raise Http404
    files = list(selectors.resource_files(resource=resource).values_list("path", "size_bytes"))
    return storage.zip_download(resource, files)


@login_required
@require_GET
def resource_file(request: HttpRequest, kind: str, pk, path: str) -> HttpResponse:
    project = _owning(request, kind, pk)
    access.require(request.user, project, kind, "read")
    resource = selectors.resource_get(kind=kind, project=project, pk=pk)
    if resource.status != StoredStatus.READY:
        raise Http404
    row = selectors.resource_file_get(resource=resource, path=path)
    return FileResponse(
        storage.open_file(resource.storage_prefix, row.path, resource.file_storage), as_attachment=True,
        filename=posixpath.basename(row.path),
    )


@login_required
@require_http_methods(["GET", "POST"])
def resource_rename(request: HttpRequest, kind: str, pk) -> HttpResponse:
    project = _owning(request, kind, pk)
    resource = access.require_object(
        request.user, project, kind, "manage",
        lambda: selectors.resource_get(kind=kind, project=project, pk=pk),
    )
    form = RenameForm(request.POST or None, initial={"name": resource.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.resource_rename(resource=resource, name=form.cleaned_data["name"],
                                     actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc, "name")
        else:
            messages.success(request, f"Renamed to {resource.name}.")
            return redirect(reverse(f"resources:{LABELS[kind]['url']}-detail", args=[resource.pk]))
    return render(request, "resources/resource_rename.html",
                  _ctx(kind, project=project, resource=resource, form=form))


@login_required
@require_http_methods(["GET", "POST"])
def resource_delete(request: HttpRequest, kind: str, pk) -> HttpResponse:
    project = _owning(request, kind, pk)
    resource = access.require_object(
        request.user, project, kind, "manage",
        lambda: selectors.resource_get(kind=kind, project=project, pk=pk),
    )
    error = None
    if request.method == "POST":
        try:
            services.resource_delete(resource=resource, actor=request.user)
        except ValidationError as exc:
            error = error_text(exc)
        else:
            messages.success(request, f"Deleted {resource.name}.")
            return redirect(after_removal_url(request, project, f"resources:{LABELS[kind]['url']}-list"))
    return render(request, "resources/resource_confirm_delete.html",
                  _ctx(kind, project=project, resource=resource, error=error),
                  status=409 if error else 200)
