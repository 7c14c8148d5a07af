"""Writes to datasets and models. Views, the API, the task worker and the jobs code call these.

Datasets and models behave the same; the functions take `kind` ("datasets" or "models") and the
named wrappers at the bottom (`dataset_create_from_upload`, `model_create_from_entries`, ...) are
what other code should call.

Files are written to the storage *before* the rows exist and deleted again if anything fails, so
a refused upload leaves neither rows nor files behind.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.dispatch import Signal

from projects import access
from projects.audit import audit_record
from projects.models import Project
from resources import storage
from resources.models import MLModel, StoredResource, StoredStatus
from resources.records import resource_name_clean, resource_new, resource_store, resource_store_with
from resources.signals import spending_check
from resources.tasks import fetch_resource

logger = logging.getLogger(__name__)

#: Sent before a dataset or model is deleted: `sender` is the class (Dataset or MLModel),
#: `resource` the row. A receiver that returns a non-empty string refuses the deletion with that
#: string as the reason (e.g. the jobs code: "A running job uses this dataset: train-42.").
resource_delete_veto = Signal()



# ---- create ------------------------------------------------------------------------------------


def resource_create_from_upload(*, kind: str, project: Project, name: str, files, created_by):
    """Several files as they are, or one .zip/.tar(.gz) archive that is unpacked."""
    access.require(created_by, project, kind, "manage")
    spending_check(project=project, actor=created_by)
    files = list(files or [])
    if not files:
        raise ValidationError({"files": "The upload is empty: choose at least one file."})
    total = sum(f.size for f in files)
    if total > storage.max_bytes():
        raise ValidationError({"files": f"The upload is {storage.human_size(total)}; the limit is "
                                        f"{storage.human_size(storage.max_bytes())}."})
    resource = resource_new(kind, project=project, name=name, created_by=created_by)
    if len(files) == 1 and storage.is_archive(files[0].name):
        entries = storage.entries_from_archive(files[0], files[0].name)
        if not entries:
            raise ValidationError({"files": f"The archive “{files[0].name}” holds no files."})
    else:
        entries = storage.entries_from_uploads(files)
    return resource_store(resource, entries)


def resource_create_from_tar_stream(*, kind: str, project: Project, name: str, stream,
                                    length: int | None, created_by):
    """An uncompressed tar read from `stream` (a request body of `length` bytes), unpacked as it
    arrives: each file written once, nothing spooled (how the CLI uploads a folder)."""
    access.require(created_by, project, kind, "manage")
    spending_check(project=project, actor=created_by)
    resource = resource_new(kind, project=project, name=name, created_by=created_by)
    return resource_store_with(
        resource, lambda prefix, store: storage.write_tar_stream(prefix, stream, store, length=length))


def resource_create_from_url(*, kind: str, project: Project, name: str, url: str, created_by):
    """Create the row (status "new") and let the worker download it in the background."""
    access.require(created_by, project, kind, "manage")
    spending_check(project=project, actor=created_by)
    try:
        URLValidator(schemes=["http", "https"])(url or "")
    except ValidationError as exc:
        raise ValidationError({"url": "Enter an http:// or https:// address."}) from exc
    resource = resource_new(kind, project=project, name=name, created_by=created_by, source_url=url,
                    status=StoredStatus.NEW)
    resource.save(force_insert=True)
    transaction.on_commit(lambda: fetch_resource.enqueue(kind, str(resource.pk)))
    return resource


def model_create_from_entries(*, project: Project, name: str, entries, created_by,
                              source_job=None) -> MLModel:
    """A training job's output (the files its agent sent) becomes a ready model in the job's
    project. No access check: the project creates it, even when `created_by` has read-only model
    access."""
    if not entries:
        raise ValidationError({"files": "The output folder holds no files."})
    model = resource_new("models", project=project, name=name, created_by=created_by,
                 source_job_id=str(source_job.pk) if source_job is not None else "")
    return resource_store(model, entries)


def dataset_create_from_entries(*, project: Project, name: str, entries, created_by):
    """Files the server already holds become a ready dataset (the demo). Like
    `model_create_from_entries`, no access check: the caller decided."""
    if not entries:
        raise ValidationError({"files": "The folder holds no files."})
    dataset = resource_new("datasets", project=project, name=name, created_by=created_by)
    return resource_store(dataset, entries)


# ---- rename, delete -------------------------------------------------------------------------


def resource_rename(*, resource: StoredResource, name: str, actor) -> StoredResource:
    access.require(actor, resource.project, resource.kind, "manage")
    resource.name = resource_name_clean(name)
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
        # Who deleted what stays in the project's audit log after the row is gone.
        audit_record(project=resource.project, actor=actor,
                     action=f"{resource.kind.removesuffix('s')}.deleted", target=resource.name,
                     before={"id": str(resource.pk), "files": resource.file_count,
                             "bytes": resource.size_bytes})
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
