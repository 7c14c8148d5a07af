"""Deleting a project deletes its datasets' and models' files from the storage in the same
operation (once it commits), and nothing of it is charged for storage afterwards."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from billing.accrual import accrue_storage
from billing.models import LedgerEntry
from projects.services import project_delete
from resources import services as resource_services
from resources.models import Dataset, MLModel
from tests.factories import ProjectFactory


def _files(root) -> list[Path]:
    root = Path(root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_deleting_a_project_deletes_its_files(owner, settings, django_capture_on_commit_callbacks):
    doomed = ProjectFactory(owner=owner, name="Doomed")
    kept = ProjectFactory(owner=owner, name="Kept")
    resource_services.dataset_create_from_upload(project=doomed, name="D", created_by=owner,
                                                 files=[SimpleUploadedFile("a.csv", b"a\n" * 100)])
    resource_services.model_create_from_upload(project=doomed, name="M", created_by=owner,
                                               files=[SimpleUploadedFile("w.bin", b"w" * 100)])
    resource_services.dataset_create_from_upload(project=kept, name="K", created_by=owner,
                                                 files=[SimpleUploadedFile("k.csv", b"k\n")])
    assert len(_files(settings.MEDIA_ROOT)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        project_delete(project=doomed, actor=owner)
    left = _files(settings.MEDIA_ROOT)
    assert [p.name for p in left] == ["k.csv"]
    assert not Dataset.objects.filter(project_id=doomed.pk).exists()
    assert not MLModel.objects.filter(project_id=doomed.pk).exists()


def test_a_deleted_projects_storage_is_not_charged(owner, django_capture_on_commit_callbacks):
    doomed = ProjectFactory(owner=owner, name="Doomed")
    resource_services.dataset_create_from_upload(project=doomed, name="D", created_by=owner,
                                                 files=[SimpleUploadedFile("a.csv", b"a" * 10**6)])
    with django_capture_on_commit_callbacks(execute=True):
        project_delete(project=doomed, actor=owner)
    accrue_storage()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.STORAGE).exists()
