"""Running a job again: "Run again" makes a new job with the same spec and starts it, "Copy to new
job" opens the create form filled in, `POST /api/v1/jobs/{id}/copy` does both with overrides. Each
needs jobs "all" in the job's project; another project's job is a 404; a refusal writes nothing."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.api_keys import api_key_create
from projects.models import AuditEvent
from resources import services as resource_services
from resources.models import Job, JobStatus
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import make_job, ready

API = "/api/v1"


@pytest.fixture
def cpu(project):
    node = make_node(gpu_type="cpu", gpus=2, name="cpu-box")
    ready(project)
    return node


@pytest.fixture
def ended(project, owner, cpu):
    """A finished training job with an input dataset, an environment and a bigger disk."""
    dataset = resource_services.dataset_create_from_upload(
        project=project, name="Reviews", created_by=owner, files=[SimpleUploadedFile("r.csv", b"a\n1\n")])
    job = make_job(project, owner, name="sentiment", command="python train.py --epochs 3",
                   env={"EPOCHS": "3"}, disk_gb=30, input_datasets=[dataset])
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED, started_at=now, ended_at=now)
    job.refresh_from_db()
    return job


def _login(client, user, project) -> None:
    client.force_login(user)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})


def _same_spec(a: Job, b: Job) -> None:
    assert (a.name, a.type, a.gpu_type_id, a.gpu_count, a.command, a.env, a.disk_gb, a.output_type) == (
        b.name, b.type, b.gpu_type_id, b.gpu_count, b.command, b.env, b.disk_gb, b.output_type)
    assert set(a.input_datasets.all()) == set(b.input_datasets.all())


def test_run_again_creates_a_started_copy_and_opens_it(client, owner, project, ended):
    _login(client, owner, project)
    page = client.get(reverse("resources:job-detail", args=[ended.pk]))
    assert b"Run again" in page.content and b"Copy to new job" in page.content

    response = client.post(reverse("resources:job-run-again", args=[ended.pk]), follow=True)

    copy = Job.objects.exclude(pk=ended.pk).get()
    assert response.redirect_chain[-1][0] == reverse("resources:job-detail", args=[copy.pk])
    _same_spec(copy, ended)
    assert copy.status == JobStatus.STARTING and copy.node is not None
    assert copy.project == project and copy.created_by == owner
    assert "Starting it." in response.content.decode()
    assert copy.events.first().message == f"Created as a copy of “sentiment” ({ended.pk})"
    ended.refresh_from_db()
    assert ended.status == JobStatus.FINISHED  # the original is untouched


def test_run_again_without_credits_creates_nothing_and_says_why(client, cpu):
    broke = UserFactory(credits=0)
    project = ready(ProjectFactory(owner=broke, name="Broke"))
    job = make_job(project, broke, name="once")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, started_at=timezone.now())
    _login(client, broke, project)

    response = client.post(reverse("resources:job-run-again", args=[job.pk]), follow=True)

    assert Job.objects.filter(project=project).count() == 1
    assert "Could not run once again:" in response.content.decode()
    assert "credits" in response.content.decode()


def test_copy_to_new_job_prefills_the_form_and_creates_an_edited_job(client, owner, project, ended):
    _login(client, owner, project)
    page = client.get(reverse("resources:job-copy", args=[ended.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="sentiment"' in html and "python train.py --epochs 3" in html and "EPOCHS=3" in html
    assert 'value="30"' in html  # disk
    assert "a copy of" in html
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(name="sentiment v2", command="python train.py --epochs 5", env="EPOCHS=5",
                gpu_type="cpu", input_model="", port="")

    response = client.post(reverse("resources:job-create"), data)

    assert response.status_code == 302, response.context["form"].errors
    copy = Job.objects.get(name="sentiment v2")
    assert copy.command == "python train.py --epochs 5" and copy.env == {"EPOCHS": "5"}
    assert copy.disk_gb == 30 and list(copy.input_datasets.all()) == list(ended.input_datasets.all())
    assert copy.status == JobStatus.NEW


def test_read_member_may_not_copy_and_another_projects_job_is_a_404(client, project, ended, member_read,
                                                                    outsider):
    _login(client, member_read, project)
    assert client.post(reverse("resources:job-run-again", args=[ended.pk])).status_code == 403
    assert client.get(reverse("resources:job-copy", args=[ended.pk])).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("resources:job-run-again", args=[ended.pk])).status_code == 404
    assert client.get(reverse("resources:job-copy", args=[ended.pk])).status_code == 404
    assert Job.objects.count() == 1


def _api(client, user, project, path, body=None):
    headers = {"Authorization": f"Bearer {api_key_create(user=user, name='t')[1]}",
               "X-Trainshed-Project": str(project.pk)}
    return client.post(f"{API}{path}", data=json.dumps(body) if body is not None else None,
                       content_type="application/json", headers=headers)


def test_api_copy_with_overrides_and_start(client, member_all, project, ended):
    response = _api(client, member_all, project, f"/jobs/{ended.pk}/copy",
                    {"start": True, "name": "sentiment again", "env": {"EPOCHS": "9"}})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "sentiment again" and body["env"] == {"EPOCHS": "9"}
    assert body["command"] == "python train.py --epochs 3" and body["disk_gb"] == 30
    assert body["status"] == "starting" and body["created_by"] == "all@example.com"
    assert body["input_datasets"] == [str(d.pk) for d in ended.input_datasets.all()]


def test_api_copy_without_a_body_is_a_new_job_not_started(client, owner, project, ended):
    response = _api(client, owner, project, f"/jobs/{ended.pk}/copy")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "new"
    _same_spec(Job.objects.get(pk=response.json()["id"]), ended)


def test_api_copy_names_the_field_when_an_input_is_gone_and_writes_nothing(client, owner, project, ended):
    ended.input_datasets.first().delete()
    other = ProjectFactory(owner=owner, name="Elsewhere")
    ready(other)
    other_dataset = resource_services.dataset_create_from_upload(
        project=other, name="Theirs", created_by=owner, files=[SimpleUploadedFile("t.csv", b"x\n")])

    response = _api(client, owner, project, f"/jobs/{ended.pk}/copy",
                    {"input_datasets": [str(other_dataset.pk)], "start": True})

    assert response.status_code == 400
    assert response.json()["field"] == "input_datasets"
    assert Job.objects.filter(project=project).count() == 1


def test_api_copy_refusals(client, project, ended, member_read, outsider):
    assert _api(client, member_read, project, f"/jobs/{ended.pk}/copy").status_code == 403
    assert _api(client, outsider, ProjectFactory(owner=outsider), f"/jobs/{ended.pk}/copy").status_code == 404
    assert Job.objects.count() == 1


def test_deleting_datasets_models_and_jobs_is_in_the_audit_log(client, owner, project, ended):
    dataset = ended.input_datasets.first()
    model = resource_services.model_create_from_upload(
        project=project, name="bert", created_by=owner, files=[SimpleUploadedFile("w.bin", b"123")])
    _login(client, owner, project)

    client.post(reverse("resources:job-remove", args=[ended.pk]))
    client.post(reverse("resources:dataset-delete", args=[dataset.pk]))
    client.post(reverse("resources:model-delete", args=[model.pk]))

    rows = list(AuditEvent.objects.filter(project=project, action__endswith=".deleted")
                .values_list("action", "target", "actor__email"))
    assert sorted(rows) == [("dataset.deleted", "Reviews", "owner@example.com"),
                            ("job.deleted", "sentiment", "owner@example.com"),
                            ("model.deleted", "bert", "owner@example.com")]
    page = client.get(reverse("projects:audit", args=[project.pk])).content.decode()
    assert "dataset.deleted" in page and "Reviews" in page and "job.deleted" in page
