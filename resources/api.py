"""Datasets and models over the REST API, in the request's project (`X-Trainshed-Project`, else
Personal). Both kinds get the same operations from `_routes(kind)`; every one asks
`active_project(request, kind, level)` (= `access.require`, as the web views do), looks the object
up inside that project (another project's id is a 404) and calls one service.

Creating takes three operations, since one operation cannot take a multipart, a JSON and a raw body:
`POST /datasets` (multipart: `name` and one or more `files`; one .zip/.tar(.gz) archive is
unpacked, which keeps a folder's structure), `POST /datasets/tar?name=` (the body an uncompressed
tar, unpacked as it arrives: how the CLI uploads a folder) and `POST /datasets/from-url` (JSON
`{name, source_url}`; the server downloads it in the background). Jobs are in
`resources/api_jobs.py`, mounted at the end.
"""

import functools
import posixpath
import uuid
from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from ninja import File, Form, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.pagination import paginate

from core.api import ERRORS, Pagination, Text
from projects import access
from projects.api_auth import active_project
from resources import api_jobs, api_jobs_copy, selectors, services, storage
from resources.models import StoredResource, StoredStatus

router = Router()

Status_ = Literal["new", "downloading", "ready", "failed"]
Sort = Literal["name", "-name", "size", "-size", "created", "-created"]
SINGULAR = {"datasets": "dataset", "models": "model"}
NOT_READY = {409: ERRORS[404]}
REFUSED_UPLOAD = {411: ERRORS[404], 413: ERRORS[404]}


def refuse_unreadable_upload(view):
    """An upload with a Content-Length over the limit (413) or without one (411) is answered
    before anything reads its body: ninja parses a multipart body before the operation runs,
    into a temporary file."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        refusal = storage.upload_refusal(request)
        if refusal:
            status, message = refusal
            return JsonResponse({"detail": f"files: {message}", "field": "files"}, status=status)
        return view(request, *args, **kwargs)

    return wrapper


class ResourceOut(Schema):
    id: uuid.UUID
    name: str
    status: Status_
    failure_reason: str
    size_bytes: int
    file_count: int
    location: str
    source_url: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_location(resource: StoredResource) -> str:
        return resource.location_label

    @staticmethod
    def resolve_created_by(resource: StoredResource) -> str | None:
        return resource.created_by.email if resource.created_by_id else None


class FileOut(Schema):
    path: str
    size_bytes: int


class FromUrlIn(Schema):
    name: Text
    source_url: Text


class RenameIn(Schema):
    name: Text


def _binary(media_type: str, what: str) -> dict:
    return {"responses": {200: {"description": what, "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}}}}}


def _ready(resource: StoredResource) -> None:
    if resource.status != StoredStatus.READY:
        raise HttpError(409, f"The {SINGULAR[resource.kind]} is not ready (status: {resource.status}).")


def _lookup(request: HttpRequest, kind: str, pk: uuid.UUID, level: str = "read") -> StoredResource:
    project = active_project(request, kind, "read")
    return access.require_object(
        request.user, project, kind, level,
        lambda: selectors.resource_get(kind=kind, project=project, pk=pk),
    )


def _route(method: str, kind: str, path: str, name: str, summary: str, **options):
    """Register an operation of `kind` on the router: `path` and `summary` may say {base} (e.g.
    /datasets) and {one} (e.g. dataset); ids and URL names are `<kind>_<name>` and `<kind>-<name>`."""
    one = SINGULAR[kind]
    return getattr(router, method)(
        path.format(base=f"/{kind}", item=f"/{kind}/{{resource_id}}"), tags=[kind],
        operation_id=f"{kind}_{name.replace('-', '_')}", url_name=f"{kind}-{options.pop('url', name)}",
        summary=summary.format(kind=kind, one=one), **options,
    )


def _list_and_create(kind: str) -> None:
    @_route("get", kind, "{base}", "list", "List the {kind} of the project",
            response={200: list[ResourceOut], **ERRORS})
    @paginate(Pagination)
    def resource_list(request: HttpRequest, status: Status_ | None = None, sort: Sort = "-created"):
        project = active_project(request, kind, "read")
        return selectors.resources_list(kind=kind, project=project, status=status, sort=sort)

    @_route("post", kind, "{base}", "upload", "Upload a {one} (multipart)",
            response={201: ResourceOut, **ERRORS, **REFUSED_UPLOAD})
    @decorate_view(refuse_unreadable_upload)
    def resource_upload(request: HttpRequest, name: Form[Text], files: File[list[UploadedFile]]):
        """Several files as they are (each by its own name), or one .zip/.tar/.tar.gz archive that
        is unpacked with its folders. Needs credits on the project owner's account."""
        project = active_project(request, kind, "manage")
        resource = services.resource_create_from_upload(
            kind=kind, project=project, name=name, files=files, created_by=request.user
        )
        return Status(201, resource)

    @_route("post", kind, "{base}/tar", "upload-tar", "Upload a {one} as a tar (unpacked as it arrives)",
            response={201: ResourceOut, **ERRORS, **REFUSED_UPLOAD},
            openapi_extra={"requestBody": {"required": True, "content": {
                storage.TAR_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
    @decorate_view(refuse_unreadable_upload)
    def resource_upload_tar(request: HttpRequest, name: Text):
        """The body is an uncompressed tar (`Content-Type: application/x-tar`, with its
        Content-Length) whose files are stored with their folders as they arrive, each written
        once: how the CLI uploads a folder. A bad member, a body over the limit or a cut body
        refuses the whole upload and leaves nothing behind."""
        project = active_project(request, kind, "manage")
        if request.content_type != storage.TAR_TYPE:
            raise ValidationError({"files": f"Send an uncompressed tar (Content-Type: {storage.TAR_TYPE})."})
        resource = services.resource_create_from_tar_stream(
            kind=kind, project=project, name=name, stream=request,
            length=int(request.META.get("CONTENT_LENGTH") or 0), created_by=request.user,
        )
        return Status(201, resource)

    @_route("post", kind, "{base}/from-url", "from-url", "Create a {one} from an http(s) address",
            response={201: ResourceOut, **ERRORS})
    def resource_from_url(request: HttpRequest, payload: FromUrlIn):
        """The answer has status "new"; the server downloads it in the background (an archive
        is unpacked). Poll `GET` until "ready" or "failed" (with `failure_reason`)."""
        project = active_project(request, kind, "manage")
        try:
            resource = services.resource_create_from_url(
                kind=kind, project=project, name=payload.name, url=payload.source_url,
                created_by=request.user,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "url" in exc.error_dict:
                raise ValidationError({"source_url": exc.message_dict["url"]}) from None
            raise
        return Status(201, resource)


def _one(kind: str) -> None:
    @_route("get", kind, "{item}", "get", "Show a {one}", url="detail", response={200: ResourceOut, **ERRORS})
    def resource_get(request: HttpRequest, resource_id: uuid.UUID):
        return _lookup(request, kind, resource_id)

    @_route("patch", kind, "{item}", "rename", "Rename a {one}", response={200: ResourceOut, **ERRORS})
    def resource_rename(request: HttpRequest, resource_id: uuid.UUID, payload: RenameIn):
        resource = _lookup(request, kind, resource_id, "manage")
        return services.resource_rename(resource=resource, name=payload.name, actor=request.user)

    @_route("delete", kind, "{item}", "delete", "Delete a {one} and its files",
            response={204: None, **ERRORS})
    def resource_delete(request: HttpRequest, resource_id: uuid.UUID):
        """Refused (400, with the reason) while something uses it, e.g. a running job."""
        resource = _lookup(request, kind, resource_id, "manage")
        services.resource_delete(resource=resource, actor=request.user)
        return Status(204, None)


def _files(kind: str) -> None:
    @_route("get", kind, "{item}/files", "files", "List the files of a {one}",
            response={200: list[FileOut], **ERRORS})
    @paginate(Pagination)
    def resource_files(request: HttpRequest, resource_id: uuid.UUID):
        return selectors.resource_files(resource=_lookup(request, kind, resource_id))

    @_route("get", kind, "{item}/download", "download", "Download a {one} as a zip or a tar",
            response={**ERRORS, **NOT_READY},
            openapi_extra=_binary("application/zip", "A zip (or with format=tar an uncompressed tar) "
                                  "of every file, streamed, with its Content-Length."))
    def resource_download(request: HttpRequest, resource_id: uuid.UUID,
                          format: Literal["zip", "tar"] = "zip"):  # noqa: A002 (the query parameter)
        """`format=tar` can be unpacked as it arrives (the CLI does); the answer then also says
        how many files it holds (`X-Trainshed-Files`)."""
        resource = _lookup(request, kind, resource_id)
        _ready(resource)
        files = list(selectors.resource_files(resource=resource).values_list("path", "size_bytes"))
        return (storage.tar_download if format == "tar" else storage.zip_download)(resource, files)

    @_route("get", kind, "{item}/files/{{path:file_path}}", "file", "Download one file of a {one}",
            response={**ERRORS, **NOT_READY},
            openapi_extra=_binary("application/octet-stream", "The file's bytes."))
    def resource_file(request: HttpRequest, resource_id: uuid.UUID, file_path: str):
        resource = _lookup(request, kind, resource_id)
        _ready(resource)
        if "\x00" in file_path:
            raise Http404
        row = selectors.resource_file_get(resource=resource, path=file_path)
        return FileResponse(
            storage.open_file(resource.storage_prefix, row.path, resource.file_storage),
            as_attachment=True, filename=posixpath.basename(row.path),
            content_type="application/octet-stream",
        )


def _routes(kind: str) -> None:
    """Register the operations of `kind` ("datasets" or "models") on the router, in this order."""
    _list_and_create(kind)
    _one(kind)
    _files(kind)


for _kind in ("datasets", "models"):
    _routes(_kind)


# Jobs have their own module, mounted here (after the datasets' and models' operations) so the
# API root lists only apps.
router.add_router("", api_jobs.router)
router.add_router("", api_jobs_copy.router)
