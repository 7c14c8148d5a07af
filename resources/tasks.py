"""Background work of datasets and models, through Django's Tasks API (`manage.py db_worker`)."""

from __future__ import annotations

import logging
import posixpath
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from django.core.exceptions import ValidationError
from django.db import transaction
from django_tasks import task

from core.forms import error_text
from resources import storage
from resources.models import StoredStatus
from resources.records import resource_classes, resource_store

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 30


@task()
def fetch_resource(kind: str, resource_id: str) -> str:
    """Download a dataset or model created from a URL: new → downloading → ready / failed."""
    return resource_fetch(kind=kind, resource_id=resource_id)


class FetchError(Exception):
    pass


def _filename_from(response, url: str) -> str:
    given = response.headers.get_filename()  # from Content-Disposition, if any
    if given:
        return posixpath.basename(given.replace("\\", "/")) or "download"
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    return posixpath.basename(path) or "download"


def _download(url: str, into) -> str:
    """Stream `url` into the file `into`, refusing past the upload limit. Returns a file name."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("Only http:// and https:// addresses can be downloaded.")
    request = urllib.request.Request(url, headers={"User-Agent": "Trainshed"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            filename = _filename_from(response, url)
            total = 0
            while data := response.read(storage.CHUNK):
                total += len(data)
                if total > storage.max_bytes():
                    raise FetchError(
                        f"The file is larger than the limit of {storage.human_size(storage.max_bytes())}."
                    )
                into.write(data)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"The server answered {exc.code} {exc.reason}.") from exc
    except urllib.error.URLError as exc:
        raise FetchError(f"Could not reach the address: {exc.reason}.") from exc
    except (TimeoutError, OSError) as exc:
        raise FetchError(f"The download failed: {exc}.") from exc
    if total == 0:
        raise FetchError("The address returned an empty file.")
    return filename


def _reason(exc: BaseException) -> str:
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
            status=StoredStatus.FAILED, failure_reason=_reason(exc)[:2000]
        )
        return StoredStatus.FAILED
    return StoredStatus.READY
