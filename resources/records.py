"""A dataset's or model's row and its files, written together: what creating one (a service) and
the background download (a task) share."""

from __future__ import annotations

import errno
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

from projects.models import Project
from resources import storage
from resources.models import KINDS, StoredResource, StoredStatus

NAME_MAX = 200


def resource_classes(kind: str):
    if kind not in KINDS:
        raise ValueError(f"Unknown resource kind: {kind}")
    return KINDS[kind]


def resource_name_clean(name: str) -> str:
    """A dataset's, model's or job's name: trimmed, not empty, at most NAME_MAX characters."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A name has at most {NAME_MAX} characters."})
    return name


def resource_store(resource: StoredResource, entries: list[storage.Entry]) -> StoredResource:
    """Write `entries` under the resource's prefix, then the resource row (if new) and its file
    rows in one transaction. On any failure nothing stays behind."""
    return resource_store_with(resource, lambda prefix, store: storage.write_tree(prefix, entries, store))


def resource_store_with(resource: StoredResource, write) -> StoredResource:
    """Like `resource_store`, with the files written by `write(prefix, storage)`, which returns
    [(path, bytes written)] (e.g. a tar unpacked as it arrives)."""
    resource_cls, file_cls, fk = KINDS[resource.kind]
    if not resource._state.adding and resource_cls.objects.filter(
        pk=resource.pk, status=StoredStatus.READY
    ).exists():
        raise ValidationError(f"The files of a ready {resource.kind[:-1]} cannot change.")
    prefix = resource.storage_prefix
    try:
        written = write(prefix, resource.file_storage)
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


def resource_new(kind: str, *, project: Project, name: str, created_by, **extra) -> StoredResource:
    resource_cls, _file_cls, _fk = resource_classes(kind)
    node = storage.location_for(project)
    resource = resource_cls(
        id=uuid.uuid4(), project=project, name=resource_name_clean(name), created_by=created_by,
        location="platform" if node is None else "node", storage_node=node, **extra,
    )
    resource.full_clean(exclude=["size_bytes", "file_count"])
    return resource
