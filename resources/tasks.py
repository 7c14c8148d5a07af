"""Background work of datasets and models, through Django's Tasks API (`manage.py db_worker`)."""

from __future__ import annotations

import logging
import tempfile

from django.core.exceptions import ValidationError
from django.db import transaction
from django_tasks import task

from core.forms import error_text
from resources import fetch, storage
from resources.models import StoredStatus
from resources.records import resource_classes, resource_store

logger = logging.getLogger(__name__)


@task(queue_name="downloads")  # settings.TRAINSHED_DOWNLOADS_QUEUE; never beside accrual
def fetch_resource(kind: str, resource_id: str) -> str:
    """Download a dataset or model created from a URL: new → downloading → ready / failed."""
    return resource_fetch(kind=kind, resource_id=resource_id)


FetchError = fetch.FetchError


def _download(url: str, into) -> str:
    """Stream `url` into the file `into`, refusing past the upload limit and addresses inside our
    network (resources/fetch.py). Returns a file name."""
    limit = storage.max_bytes()
    got = fetch.download(url, into, max_bytes=limit,
                         too_big=f"The file is larger than the limit of {storage.human_size(limit)}.")
    return got.filename


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return error_text(exc)
    return str(exc) or exc.__class__.__name__


def resource_fetch(*, kind: str, resource_id: str) -> str:
    """Run by the worker: new → downloading → ready, or failed with the reason (and no files).
    Returns the final status."""
    resource_cls, _file_cls, _fk = resource_classes(kind)
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
                resource_store(resource, entries)
    except Exception as exc:  # every failure becomes a visible reason on the resource
        logger.info("download of %s %s failed: %s", kind, resource_id, exc)
        storage.delete_tree(resource.storage_prefix, resource.file_storage)
        resource_cls.objects.filter(pk=resource_id).update(
            status=StoredStatus.FAILED, failure_reason=failure_reason(exc)[:2000]
        )
        return StoredStatus.FAILED
    return StoredStatus.READY
