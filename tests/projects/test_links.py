"""Links work wherever you have access: a job, dataset or model page opened while another project
is active works for anyone who may read it there, says whose it is with one click to make that
project active, and every action on it acts in its own project. Someone who may not read it gets
the same 404 as for a missing id."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compute.models import GpuType
from projects.middleware import SESSION_KEY
from resources import services as resource_services
from resources.models import Dataset, Job, JobStatus
from tests.factories import ProjectFactory, UserFactory, add_member, sign_in_to


def make_job(project, owner, name="job"):
    return Job.objects.create(project=project, name=name, gpu_type=GpuType.objects.get(slug="cpu"),
                              command="echo hi", created_by=owner)


@pytest.fixture
def colleague(project):
    """Reads everything in Vision Research, and works in a project of her own (A) while opening
    links to Vision Research's (B's) things."""
    person = UserFactory(email="colleague@example.com")
    add_member(project, person, jobs="all", datasets="all", models="read")
    person.own = ProjectFactory(owner=person, name="Her Own Work")
    return person


@pytest.fixture
def dataset(owner, project):
    return resource_services.dataset_create_from_upload(
        project=project, name="Shared data", created_by=owner, files=[SimpleUploadedFile("a.csv", b"a,b\n")])


def test_a_job_link_works_while_another_project_is_active(client, owner, project, colleague):
    job = make_job(project, owner, name="night run")
    sign_in_to(client, colleague, colleague.own)
    page = client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert "night run" in page
    assert "This job belongs to <strong>Vision Research</strong>" in page
    assert "owner@example.com" in page  # whose project it is
    assert "not to your active project (Her Own Work)" in page
    assert f'name="project" value="{project.pk}"' in page and "Make Vision Research active" in page
    log = client.get(reverse("resources:job-log", args=[job.pk]))
    assert log.status_code == 200 and log["Content-Disposition"].startswith("attachment")


def test_actions_on_a_linked_job_act_in_its_own_project(client, owner, project, colleague):
    job = make_job(project, owner, name="night run")
    sign_in_to(client, colleague, colleague.own)
    response = client.post(reverse("resources:job-remove", args=[job.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[project.pk])  # not her own list
    job.refresh_from_db()
    assert job.removed_at is not None and job.project_id == project.pk
    assert client.session[SESSION_KEY] == str(colleague.own.pk)  # the active project did not change


def test_dataset_link_rename_and_delete_act_in_its_project(client, project, colleague, dataset):
    sign_in_to(client, colleague, colleague.own)
    page = client.get(reverse("resources:dataset-detail", args=[dataset.pk])).content.decode()
    assert "This dataset belongs to <strong>Vision Research</strong>" in page
    assert client.get(reverse("resources:dataset-download", args=[dataset.pk])).status_code == 200
    response = client.post(reverse("resources:dataset-rename", args=[dataset.pk]), {"name": "Renamed data"})
    assert response.status_code == 302
    assert Dataset.objects.get(pk=dataset.pk).name == "Renamed data"
    response = client.post(reverse("resources:dataset-delete", args=[dataset.pk]))
    assert response["Location"] == reverse("projects:detail", args=[project.pk])
    assert not Dataset.objects.in_project(project).filter(pk=dataset.pk).exists()


def test_read_access_reads_but_may_not_act(client, owner, project, colleague):
    model = resource_services.resource_create_from_upload(
        kind="models", project=project, name="Weights", created_by=owner,
        files=[SimpleUploadedFile("w.bin", b"01")])
    sign_in_to(client, colleague, colleague.own)
    assert client.get(reverse("resources:model-detail", args=[model.pk])).status_code == 200
    assert client.post(reverse("resources:model-delete", args=[model.pk])).status_code == 403


def test_an_outsider_gets_the_same_404_as_a_missing_id(client, owner, project, outsider, dataset):
    job = make_job(project, owner, name="secret run")
    client.force_login(outsider)
    hidden = client.get(reverse("resources:job-detail", args=[job.pk]))
    missing = client.get(reverse("resources:job-detail", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code == 404
    for response in (hidden, missing):  # the app's page, the same words for both
        assert "<h1>Not found</h1>" in response.content.decode()
    assert "secret run" not in hidden.content.decode()
    assert client.get(reverse("resources:dataset-detail", args=[dataset.pk])).status_code == 404
    assert client.post(reverse("resources:job-start", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.NEW


def test_no_access_to_the_type_is_a_404(client, owner, project, member_none):
    job = make_job(project, owner)
    client.force_login(member_none)
    assert client.get(reverse("resources:job-detail", args=[job.pk])).status_code == 404


def test_the_active_project_shows_no_banner(client, owner, project, colleague):
    job = make_job(project, owner)
    sign_in_to(client, colleague, project)
    assert "data-other-project" not in client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()


def test_make_active_stays_on_the_page(client, owner, project, colleague):
    job = make_job(project, owner)
    sign_in_to(client, colleague, colleague.own)
    detail = reverse("resources:job-detail", args=[job.pk])
    response = client.post(reverse("projects:switch"), {"project": str(project.pk), "next": detail, "stay": "1"})
    assert response["Location"] == detail
    assert client.session[SESSION_KEY] == str(project.pk)
    page = client.get(detail).content.decode()
    assert "data-other-project" not in page and "Active project: Vision Research." in page


def test_a_removed_job_stays_a_404(client, owner, project, colleague):
    job = make_job(project, owner)
    Job.objects.filter(pk=job.pk).update(removed_at=job.created_at)
    sign_in_to(client, colleague, colleague.own)
    assert client.get(reverse("resources:job-detail", args=[job.pk])).status_code == 404


def test_a_malformed_id_is_a_404(client, colleague):
    client.force_login(colleague)
    assert client.get("/jobs/not-a-uuid/").status_code == 404
