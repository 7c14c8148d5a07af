"""Models: the same as datasets, plus creation from a training job's output folder."""

import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.forms import ACTIVE_PROJECT_FIELD
from projects.middleware import SESSION_KEY
from resources import records, services, storage, tasks
from resources.models import MLModel, ModelFile
from resources.views import PAGE_SIZE
from tests.factories import ProjectFactory


def activate(client, project):
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()


@pytest.fixture
def signed_in(client, owner, project):
    client.force_login(owner)
    activate(client, project)
    return client


def test_model_upload_then_download_returns_the_same_bytes(signed_in, project):
    weights = os.urandom(70_000)
    response = signed_in.post(reverse("resources:model-create"), {
        "name": "resnet", ACTIVE_PROJECT_FIELD: str(project.pk),
        "files": [SimpleUploadedFile("weights.bin", weights),
                  SimpleUploadedFile("config.json", b'{"layers": 18}')],
    })
    model = MLModel.objects.get(name="resnet")
    assert response["Location"] == reverse("resources:model-detail", args=[model.pk])
    assert (model.project, model.status, model.file_count) == (project, "ready", 2)
    one = signed_in.get(reverse("resources:model-file", args=[model.pk, "weights.bin"]))
    assert b"".join(one.streaming_content) == weights
    whole = signed_in.get(reverse("resources:model-download", args=[model.pk]))
    with zipfile.ZipFile(io.BytesIO(b"".join(whole.streaming_content))) as zf:
        assert zf.read("weights.bin") == weights and zf.read("config.json") == b'{"layers": 18}'


def _job_output(tmp_path) -> Path:
    out = tmp_path / "job-output"
    (out / "checkpoints").mkdir(parents=True)
    (out / "model.safetensors").write_bytes(b"\x01" * 1234)
    (out / "checkpoints" / "epoch-3.pt").write_bytes(b"\x02" * 10)
    (out / "link").symlink_to("/etc/passwd")  # never followed
    return out


def _job(project, user):
    """The job whose output the model is (MLModel.source_job is a foreign key to Job)."""
    from compute.models import GpuType
    from resources.models import Job

    return Job.objects.create(project=project, name="job-42", gpu_type=GpuType.objects.get(slug="cpu"),
                              command="train", created_by=user)


def test_job_output_becomes_a_ready_model_even_for_a_read_only_member(
    client, project, member_read, tmp_path, settings
):
    model = services.model_create_from_entries(
        project=project, name="trained", entries=storage.entries_from_folder(_job_output(tmp_path)), created_by=member_read,
        source_job=(job := _job(project, member_read)),
    )
    assert (model.status, model.project, model.created_by) == ("ready", project, member_read)
    assert model.source_job == job
    assert sorted(model.files.values_list("path", flat=True)) == [
        "checkpoints/epoch-3.pt", "model.safetensors"]
    assert model.size_bytes == 1244

    client.force_login(member_read)
    activate(client, project)
    page = client.get(reverse("resources:model-detail", args=[model.pk])).content.decode()
    assert "trained" in page and "job-42" in page
    assert reverse("resources:model-delete", args=[model.pk]) not in page
    assert client.post(reverse("resources:model-delete", args=[model.pk])).status_code == 403
    assert client.post(reverse("resources:model-rename", args=[model.pk]),
                       {"name": "mine"}).status_code == 403
    got = client.get(reverse("resources:model-file", args=[model.pk, "model.safetensors"]))
    assert b"".join(got.streaming_content) == b"\x01" * 1234


def test_empty_job_output_is_refused_and_leaves_nothing(project, owner, tmp_path, settings):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="holds no files"):
        services.model_create_from_entries(project=project, name="x",
                                           entries=storage.entries_from_folder(tmp_path / "empty"),
                                           created_by=owner)
    assert not MLModel.objects.exists()


def test_a_ready_models_files_are_immutable(project, owner, tmp_path):
    model = services.model_create_from_entries(
        project=project, name="frozen", entries=storage.entries_from_folder(_job_output(tmp_path)),
        created_by=owner)
    before = list(ModelFile.objects.filter(model=model).values_list("path", "size_bytes"))
    # The background download only ever fills a new model: a ready one is left alone.
    assert tasks.resource_fetch(kind="models", resource_id=str(model.pk)) == "skipped"
    with pytest.raises(ValidationError, match="cannot change"):
        records.resource_store(model, [])
    assert list(ModelFile.objects.filter(model=model).values_list("path", "size_bytes")) == before
    # …and nothing in the admin can add, delete or edit its files
    from django.contrib import admin

    inline = admin.site._registry[MLModel].inlines[0]
    assert inline.can_delete is False and set(inline.readonly_fields) == {"path", "size_bytes"}


def test_model_list_shows_only_the_active_project(signed_in, project, owner):
    personal = owner.owned_projects.get(is_personal=True)
    MLModel.objects.create(project=project, name="here", created_by=owner, status="ready")
    MLModel.objects.create(project=personal, name="there", created_by=owner, status="ready")
    page = signed_in.get(reverse("resources:model-list")).content.decode()
    assert "here" in page and "there" not in page
    assert "New model" in page


def test_model_list_runs_the_same_number_of_queries_at_10_and_1000_rows(
    signed_in, project, owner, django_assert_num_queries
):
    def bulk(n):
        MLModel.objects.bulk_create([MLModel(project=project, name=f"m{i}", created_by=owner,
                                             status="ready") for i in range(n)])

    url = reverse("resources:model-list")
    bulk(10)
    with CaptureQueriesContext(connection) as small:
        signed_in.get(url)
    bulk(990)
    with django_assert_num_queries(len(small.captured_queries)):
        page = signed_in.get(url).content.decode()
    assert f"Models 1–{PAGE_SIZE}" in page and "Next →" in page


@pytest.mark.parametrize("model_cls", [MLModel, "Dataset"])
def test_admin_shows_the_project_but_cannot_change_it(client, project, owner, model_cls):
    from accounts.models import User
    from resources.models import Dataset

    cls = Dataset if model_cls == "Dataset" else model_cls
    obj = services.resource_create_from_upload(
        kind=cls.kind, project=project, name="adm", created_by=owner,
        files=[SimpleUploadedFile("a.txt", b"a")])
    operator = User.objects.create_superuser(email="op@example.com", password="pw-12345-long")
    client.force_login(operator)
    meta = cls._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    page = client.get(url).content.decode()
    assert "Vision Research" in page and 'name="project"' not in page and "a.txt" in page
    other = ProjectFactory(owner=owner, name="Elsewhere")
    client.post(url, {"name": "adm2", "project": str(other.pk),
                      "files-TOTAL_FORMS": "1", "files-INITIAL_FORMS": "1",
                      "files-MIN_NUM_FORMS": "0", "files-MAX_NUM_FORMS": "1000"})
    obj.refresh_from_db()
    assert obj.project == project
    listing = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert listing.status_code == 200 and "adm" in listing.content.decode()
