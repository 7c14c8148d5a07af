"""Writes to datasets and models. Views, the API, the task worker and the jobs code call these.

Datasets and models behave the same; the functions take `kind` ("datasets" or "models") and the
named wrappers at the bottom (`dataset_create_from_upload`, `model_create_from_entries`, ...) are
what other code should call.

Files are written to the storage *before* the rows exist and deleted again if anything fails, so
a refused upload leaves neither rows nor files behind.
"""

from __future__ import annotations

import errno
import logging
import tempfile
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.dispatch import Signal

from billing import services as billing_services
from projects import access
from projects.models import Project
from resources import fetch, storage
from resources.models import KINDS, MLModel, StoredResource, StoredStatus

logger = logging.getLogger(__name__)

#: Sent before a dataset or model is deleted: `sender` is the class (Dataset or MLModel),
#: `resource` the row. A receiver that returns a non-empty string refuses the deletion with that
#: string as the reason (e.g. the jobs code: "A running job uses this dataset: train-42.").
resource_delete_veto = Signal()

NAME_MAX = 200


def _classes(kind: str):
    if kind not in KINDS:
        raise ValueError(f"Unknown resource kind: {kind}")
    return KINDS[kind]


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A name has at most {NAME_MAX} characters."})
    return name


def _store_and_record(resource: StoredResource, entries: list[storage.Entry]) -> StoredResource:
    """Write `entries` under the resource's prefix, then the resource row (if new) and its file
    rows in one transaction. On any failure nothing stays behind."""
    resource_cls, file_cls, fk = KINDS[resource.kind]
    if not resource._state.adding and resource_cls.objects.filter(
        pk=resource.pk, status=StoredStatus.READY
    ).exists():
        raise ValidationError(f"The files of a ready {resource.kind[:-1]} cannot change.")
    prefix = resource.storage_prefix
    try:
        written = storage.write_tree(prefix, entries, resource.file_storage)
        with transaction.atomic():
            resource.size_bytes = sum(size for _, size in written)
            resource.file_count = len(written)
            resource.status = StoredStatus.READY
            resource.failure_reason = ""
            resource.full_clean()
            resource.save()
            file_cls.objects.bulk_create(
                [file_cls(**{fk: resource}, path=path, size_bytes=size) for path, size in written]
            )
    except OSError as exc:
        storage.delete_tree(prefix, resource.file_storage)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ValidationError(
                {"files": "The storage is full, so nothing was saved. Ask an operator to free space."},
                code="storage_full",
            ) from exc
        raise
    except BaseException:
        storage.delete_tree(prefix, resource.file_storage)
        raise
    return resource


def _new(kind: str, *, project: Project, name: str, created_by, **extra) -> StoredResource:
    resource_cls, _file_cls, _fk = _classes(kind)
    node = storage.location_for(project)
    resource = resource_cls(
        id=uuid.uuid4(), project=project, name=_clean_name(name), created_by=created_by,
        location="platform" if node is None else "node", storage_node=node, **extra,
    )
    resource.full_clean(exclude=["size_bytes", "file_count"])
    return resource


# ---- create ------------------------------------------------------------------------------------


def resource_create_from_upload(*, kind: str, project: Project, name: str, files, created_by):
    """Several files as they are, or one .zip/.tar(.gz) archive that is unpacked."""
    access.require(created_by, project, kind, "manage")
    billing_services.ensure_can_spend(project=project)
    files = list(files or [])
    if not files:
        raise ValidationError({"files": "The upload is empty: choose at least one file."})
    total = sum(f.size for f in files)
    if total > storage.max_bytes():
        raise ValidationError({"files": f"The upload is {storage.human_size(total)}; the limit is "
                                        f"{storage.human_size(storage.max_bytes())}."})
    resource = _new(kind, project=project, name=name, created_by=created_by)
    if len(files) == 1 and storage.is_archive(files[0].name):
        entries = storage.entries_from_archive(files[0], files[0].name)
        if not entries:
            raise ValidationError({"files": f"The archive “{files[0].name}” holds no files."})
    else:
        entries = storage.entries_from_uploads(files)
    return _store_and_record(resource, entries)


def resource_create_from_url(*, kind: str, project: Project, name: str, url: str, created_by):
    """Create the row (status "new") and let the worker download it in the background."""
    access.require(created_by, project, kind, "manage")
    billing_services.ensure_can_spend(project=project)
    try:
        URLValidator(schemes=["http", "https"])(url or "")
    except ValidationError as exc:
        raise ValidationError({"url": "Enter an http:// or https:// address."}) from exc
    resource = _new(kind, project=project, name=name, created_by=created_by, source_url=url,
                    status=StoredStatus.NEW)
    resource.save(force_insert=True)
    from resources.tasks import fetch_resource

    transaction.on_commit(lambda: fetch_resource.enqueue(kind, str(resource.pk)))
    return resource


def model_create_from_entries(*, project: Project, name: str, entries, created_by,
                              source_job=None) -> MLModel:
    """A training job's output (the files its agent sent) becomes a ready model in the job's
    project. No access check: the project creates it, even when `created_by` has read-only model
    access."""
    if not entries:
        raise ValidationError({"files": "The output folder holds no files."})
    model = _new("models", project=project, name=name, created_by=created_by,
                 source_job_id=str(source_job.pk) if source_job is not None else "")
    return _store_and_record(model, entries)


def dataset_create_from_entries(*, project: Project, name: str, entries, created_by):
    """Files the server already holds become a ready dataset (the demo). Like
    `model_create_from_entries`, no access check: the caller decided."""
    if not entries:
        raise ValidationError({"files": "The folder holds no files."})
    dataset = _new("datasets", project=project, name=name, created_by=created_by)
    return _store_and_record(dataset, entries)


# ---- the background download ----------------------------------------------------------------


FetchError = fetch.FetchError


def _download(url: str, into) -> str:
    """Stream `url` into the file `into`, refusing past the upload limit and addresses inside our
    network (resources/fetch.py). Returns a file name."""
    limit = storage.max_bytes()
    got = fetch.download(url, into, max_bytes=limit,
                         too_big=f"The file is larger than the limit of {storage.human_size(limit)}.")
    return got.filename


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


def resource_fetch(*, kind: str, resource_id: str) -> str:
    """Run by the worker: new → downloading → ready, or failed with the reason (and no files).
    Returns the final status."""
    resource_cls, _file_cls, _fk = _classes(kind)
    claimed = resource_cls.objects.filter(pk=resource_id, status=StoredStatus.NEW).update(
        status=StoredStatus.DOWNLOADING
    )
    if not claimed:
        return "skipped"  # deleted meanwhile, or another worker has it
    resource = resource_cls.objects.select_related("project").get(pk=resource_id)
    try:
        with tempfile.TemporaryFile() as tmp:
            filename = _download(resource.source_url, tmp)
            size = tmp.tell()
            tmp.seek(0)
            if storage.is_archive(filename):
                entries = storage.entries_from_archive(tmp, filename)
                if not entries:
                    raise FetchError(f"The archive “{filename}” holds no files.")
            else:
                entries = [storage.Entry(path=storage.safe_relpath(filename), size=size,
                                         open=lambda: tmp)]
            with transaction.atomic():
                if not resource_cls.objects.select_for_update().filter(pk=resource_id).exists():
                    storage.delete_tree(resource.storage_prefix, resource.file_storage)
                    return "skipped"
                _store_and_record(resource, entries)
    except Exception as exc:  # every failure becomes a visible reason on the resource
        logger.info("download of %s %s failed: %s", kind, resource_id, exc)
        storage.delete_tree(resource.storage_prefix, resource.file_storage)
        resource_cls.objects.filter(pk=resource_id).update(
            status=StoredStatus.FAILED, failure_reason=_reason(exc)[:2000]
        )
        return StoredStatus.FAILED
    return StoredStatus.READY


# ---- rename, delete -------------------------------------------------------------------------


def resource_rename(*, resource: StoredResource, name: str, actor) -> StoredResource:
    access.require(actor, resource.project, resource.kind, "manage")
    resource.name = _clean_name(name)
    resource.full_clean()
    resource.save(update_fields=["name", "updated_at"])
    return resource


def resource_delete(*, resource: StoredResource, actor) -> None:
    """Delete the rows, then (after commit) the files. Refused while anything vetoes it, e.g. a
    running job that uses the resource (see `resource_delete_veto`)."""
    access.require(actor, resource.project, resource.kind, "manage")
    reasons = [r for _recv, r in resource_delete_veto.send(sender=type(resource), resource=resource)
               if r]
    if reasons:
        raise ValidationError(" ".join(str(r) for r in reasons), code="in_use")
    prefix = resource.storage_prefix
    store = resource.file_storage
    with transaction.atomic():
        resource.delete()
        transaction.on_commit(lambda: storage.delete_tree(prefix, store))


# ---- named entry points -----------------------------------------------------------------------


def dataset_create_from_upload(*, project, name, files, created_by):
    return resource_create_from_upload(kind="datasets", project=project, name=name, files=files,
                                       created_by=created_by)


def dataset_create_from_url(*, project, name, url, created_by):
    return resource_create_from_url(kind="datasets", project=project, name=name, url=url,
                                    created_by=created_by)


def model_create_from_upload(*, project, name, files, created_by):
    return resource_create_from_upload(kind="models", project=project, name=name, files=files,
                                       created_by=created_by)


def model_create_from_url(*, project, name, url, created_by):
    return resource_create_from_url(kind="models", project=project, name=name, url=url,
                                    created_by=created_by)


dataset_rename = model_rename = resource_rename
dataset_delete = model_delete = resource_delete
