"""A job's inputs and its saved output follow the datasets and models levels: a member with jobs
"all" but datasets/models "none" neither sees their names in the job form nor uses them through
the form, the API or the service; saving the output as a model needs models "read"."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.api_keys import api_key_create
from resources import services as resource_services
from resources.models import Job
from tests.factories import UserFactory, add_member, sign_in_to
from tests.jobs_helpers import local_node, make_job, ready
from tests.resources.test_jobs import _form  # the jobs form as a member fills it


@pytest.fixture
def node(tmp_path, project):
    n = local_node(tmp_path, gpus=2)
    ready(project)
    return n


@pytest.fixture
def inputs(project, owner):
    dataset = resource_services.dataset_create_from_upload(
        project=project, name="Secret Reviews", created_by=owner,
        files=[SimpleUploadedFile("r.csv", b"a\n1\n")])
    model = resource_services.model_create_from_upload(
        project=project, name="Hidden Weights", created_by=owner,
        files=[SimpleUploadedFile("w.bin", b"\x00\x01")])
    return dataset, model


@pytest.fixture
def jobs_only(project):
    member = UserFactory(email="jobsonly@example.com")
    add_member(project, member, jobs="all", datasets="none", models="none")
    return member


def test_job_form_lists_no_dataset_or_model_without_read_access(client, project, node, inputs, jobs_only):
    sign_in_to(client, jobs_only, project)
    page = client.get(reverse("resources:job-create")).content.decode()
    assert "Secret Reviews" not in page and "Hidden Weights" not in page


def test_job_form_refuses_inputs_without_read_access(client, project, node, inputs, jobs_only):
    dataset, model = inputs
    sign_in_to(client, jobs_only, project)
    response = client.post(reverse("resources:job-create"),
                           _form(project, input_datasets=[str(dataset.pk)], input_model=str(model.pk)))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "input_datasets" in errors and "input_model" in errors
    assert not Job.objects.exists()


def test_service_refuses_inputs_without_read_access(project, node, inputs, jobs_only):
    dataset, model = inputs
    with pytest.raises(ValidationError) as refused:
        make_job(project, jobs_only, input_datasets=[dataset.pk])
    assert "input_datasets" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        make_job(project, jobs_only, input_model=model.pk)
    assert "input_model" in refused.value.message_dict
    assert not Job.objects.exists()


def test_api_refuses_inputs_without_read_access(client, project, node, inputs, jobs_only):
    dataset, _model = inputs
    headers = {"Authorization": f"Bearer {api_key_create(user=jobs_only, name='t')[1]}",
               "X-Trainshed-Project": str(project.pk)}
    body = {"name": "train", "type": "training", "gpu_type": "cpu", "gpu_count": 1,
            "command": "python train.py", "input_datasets": [str(dataset.pk)]}
    response = client.post("/api/v1/jobs", data=json.dumps(body), content_type="application/json",
                           headers=headers)
    assert response.status_code == 400, response.content
    assert "input_datasets" in response.content.decode()
    assert "Secret Reviews" not in response.content.decode()
    assert not Job.objects.exists()


def test_output_model_refused_with_models_none(project, node, jobs_only):
    with pytest.raises(ValidationError) as refused:
        make_job(project, jobs_only, output_type="model")
    assert "output_type" in refused.value.message_dict
    assert not Job.objects.exists()


def test_output_model_allowed_with_models_read(project, node, inputs):
    member = UserFactory(email="modelsread@example.com")
    add_member(project, member, jobs="all", datasets="read", models="read")
    dataset, model = inputs
    job = make_job(project, member, output_type="model", input_datasets=[dataset.pk], input_model=model.pk)
    assert job.output_type == "model" and job.input_model == model


def test_start_refuses_inputs_after_dataset_access_is_withdrawn(project, node, inputs, owner):
    from projects import access
    from projects.services import membership_set

    member = UserFactory(email="later@example.com")
    add_member(project, member, jobs="all", datasets="read", models="read")
    dataset, _model = inputs
    job = make_job(project, member, input_datasets=[dataset.pk])
    membership_set(project=project, user=member, jobs="all", datasets="none", models="read", actor=owner)
    access.forget(member)
    from resources.jobs.services import job_start

    with pytest.raises(ValidationError):
        job_start(job=job, actor=member)
    job.refresh_from_db()
    assert job.status == "new"
