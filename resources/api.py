"""Datasets and models over the REST API, in the request's project (`X-Trainshed-Project`, else
Personal). Both kinds get the same operations from `_routes(kind)`; every one asks
`active_project(request, kind, level)` (= `access.require`, as the web views do), looks the object
up inside that project (another project's id is a 404) and calls one service.

Creating takes two operations, since one operation cannot take both a multipart and a JSON body:
`POST /datasets` (multipart: `name` and one or more `files`; one .zip/.tar(.gz) archive is
unpacked, which is how the CLI keeps a folder's structure) and `POST /datasets/from-url` (JSON
`{name, source_url}`; the server downloads it in the background). Jobs are in
`resources/api_jobs.py`, mounted at the end.
"""

import functools
import posixpath
import uuid
from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, JsonResponse, StreamingHttpResponse
from django.utils.text import slugify
from ninja import File, Form, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.pagination import paginate

from core.api import ERRORS, Pagination, Text
from projects import access
from projects.api_auth import active_project
from resources import selectors, services, storage
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


def _routes(kind: str) -> None:
    """Register the operations of `kind` ("datasets" or "models") on the router."""
    one = SINGULAR[kind]
    base = f"/{kind}"
    item = f"{base}/{{resource_id}}"
    tags = [kind]

    def lookup(request: HttpRequest, pk: uuid.UUID, level: str = "read") -> StoredResource:
        project = active_project(request, kind, "read")
        return access.require_object(
            request.user, project, kind, level,
            lambda: selectors.resource_get(kind=kind, project=project, pk=pk),
        )

    @router.get(base, response={200: list[ResourceOut], **ERRORS}, tags=tags,
                operation_id=f"{kind}_list", url_name=f"{kind}-list",
                summary=f"List the {kind} of the project")
    @paginate(Pagination)
    def resource_list(request: HttpRequest, status: Status_ | None = None, sort: Sort = "-created"):
        project = active_project(request, kind, "read")
        return selectors.resources_list(kind=kind, project=project, status=status, sort=sort)

    @router.post(base, response={201: ResourceOut, **ERRORS, **REFUSED_UPLOAD}, tags=tags,
                 operation_id=f"{kind}_upload", url_name=f"{kind}-upload",
                 summary=f"Upload a {one} (multipart)")
    @decorate_view(refuse_unreadable_upload)
    def resource_upload(request: HttpRequest, name: Form[Text], files: File[list[UploadedFile]]):
        """Several files as they are (each by its own name), or one .zip/.tar/.tar.gz archive that
        is unpacked with its folders. Needs credits on the project owner's account."""
        project = active_project(request, kind, "manage")
        resource = services.resource_create_from_upload(
            kind=kind, project=project, name=name, files=files, created_by=request.user
        )
        return Status(201, resource)

    @router.post(f"{base}/from-url", response={201: ResourceOut, **ERRORS}, tags=tags,
                 operation_id=f"{kind}_from_url", url_name=f"{kind}-from-url",
                 summary=f"Create a {one} from an http(s) address")
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

    @router.get(item, response={200: ResourceOut, **ERRORS}, tags=tags,
                operation_id=f"{kind}_get", url_name=f"{kind}-detail", summary=f"Show a {one}")
    def resource_get(request: HttpRequest, resource_id: uuid.UUID):
        return lookup(request, resource_id)

    @router.patch(item, response={200: ResourceOut, **ERRORS}, tags=tags,
                  operation_id=f"{kind}_rename", url_name=f"{kind}-rename", summary=f"Rename a {one}")
    def resource_rename(request: HttpRequest, resource_id: uuid.UUID, payload: RenameIn):
        resource = lookup(request, resource_id, "manage")
        return services.resource_rename(resource=resource, name=payload.name, actor=request.user)

    @router.delete(item, response={204: None, **ERRORS}, tags=tags,
                   operation_id=f"{kind}_delete", url_name=f"{kind}-delete",
                   summary=f"Delete a {one} and its files")
    def resource_delete(request: HttpRequest, resource_id: uuid.UUID):
        """Refused (400, with the reason) while something uses it, e.g. a running job."""
        resource = lookup(request, resource_id, "manage")
        services.resource_delete(resource=resource, actor=request.user)
        return Status(204, None)

    @router.get(f"{item}/files", response={200: list[FileOut], **ERRORS}, tags=tags,
                operation_id=f"{kind}_files", url_name=f"{kind}-files",
                summary=f"List the files of a {one}")
    @paginate(Pagination)
    def resource_files(request: HttpRequest, resource_id: uuid.UUID):
        return selectors.resource_files(resource=lookup(request, resource_id))

    @router.get(f"{item}/download", response={**ERRORS, **NOT_READY}, tags=tags,
                operation_id=f"{kind}_download", url_name=f"{kind}-download",
                summary=f"Download a {one} as a zip",
                openapi_extra=_binary("application/zip", "A zip of every file, streamed."))
    def resource_download(request: HttpRequest, resource_id: uuid.UUID):
        resource = lookup(request, resource_id)
        _ready(resource)
        paths = list(selectors.resource_files(resource=resource).values_list("path", flat=True))
        response = StreamingHttpResponse(
            storage.stream_zip(resource.storage_prefix, paths, resource.file_storage),
            content_type="application/zip",
        )
        filename = f"{slugify(resource.name) or one}.zip"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @router.get(f"{item}/files/{{path:file_path}}", response={**ERRORS, **NOT_READY}, tags=tags,
                operation_id=f"{kind}_file", url_name=f"{kind}-file",
                summary=f"Download one file of a {one}",
                openapi_extra=_binary("application/octet-stream", "The file's bytes."))
    def resource_file(request: HttpRequest, resource_id: uuid.UUID, file_path: str):
        resource = lookup(request, resource_id)
        _ready(resource)
        if "\x00" in file_path:
            raise Http404
        row = selectors.resource_file_get(resource=resource, path=file_path)
        return FileResponse(
            storage.open_file(resource.storage_prefix, row.path, resource.file_storage),
            as_attachment=True, filename=posixpath.basename(row.path),
            content_type="application/octet-stream",
        )


for _kind in ("datasets", "models"):
    _routes(_kind)


def _mount_jobs() -> None:
    """Jobs have their own module (resources/api_jobs.py): mounted here so the API root lists
    only apps."""
    from resources import api_jobs

    router.add_router("", api_jobs.router)


_mount_jobs()
