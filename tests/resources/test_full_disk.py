"""A full disk during an upload: a clear error on the form and no half-written dataset."""

import errno

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from resources.models import Dataset

from .test_datasets import activate, stored_files, upload

pytestmark = pytest.mark.django_db


class DiskFillsUp(FileSystemStorage):
    """A real local disk that runs out of space after its first file (what ENOSPC looks like)."""

    saved = 0

    def _save(self, name, content):
        if DiskFillsUp.saved >= 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        DiskFillsUp.saved += 1
        return super()._save(name, content)


def test_full_disk_on_upload_gives_a_clear_error_and_leaves_nothing(client, owner, project, settings):
    DiskFillsUp.saved = 0
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.DiskFillsUp"}}
    client.force_login(owner)
    activate(client, project)
    response = upload(client, project, "Too big for the disk",
                      SimpleUploadedFile("a.bin", b"a" * 1000), SimpleUploadedFile("b.bin", b"b" * 1000))
    assert response.status_code == 200
    assert "The storage is full, so nothing was saved." in response.content.decode()
    assert not Dataset.objects.exists()
    assert stored_files(settings) == []  # the first file that fit was removed again
