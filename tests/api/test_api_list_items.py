"""A list's page is shaped from rows in one pass (`_shape_page` in resources/api_jobs.py and
projects/api.py), a detail answer from the object by the schema's resolvers: a client sees the
same item either way, field by field, whatever the job's state or the person's access."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.api_keys import api_key_create
from compute.models import ComputeNode, GpuType
from resources.models import Dataset, Job, JobStatus, JobType, MLModel
from tests.factories import ProjectFactory, add_member, make_node

API = "/api/v1"
DETAIL_ONLY = ("events", "output_models")


def _auth(user, project=None) -> dict:
    headers = {"Authorization": f"Bearer {api_key_create(user=user, name='items')[1]}"}
    if project is not None:
        headers["X-Trainshed-Project"] = str(project.pk)
    return headers


def _same_item(listed: dict, shown: dict, *, running: bool) -> None:
    shown = {k: v for k, v in shown.items() if k not in DETAIL_ONLY}
    assert listed.keys() == shown.keys()
    # The list orders a job's input datasets by id (as it did before it was shaped from rows),
    # the detail as the datasets' default order: the same ids.
    assert sorted(listed["input_datasets"]) == sorted(shown["input_datasets"])
    listed, shown = {**listed, "input_datasets": None}, {**shown, "input_datasets": None}
    if running:  # its GPU-hours grow between the two answers
        assert listed["gpu_hours"] <= shown["gpu_hours"] <= listed["gpu_hours"] + 0.01
        listed, shown = {**listed, "gpu_hours": None}, {**shown, "gpu_hours": None}
    assert listed == shown


@pytest.fixture
def jobs(owner, project):
    """Jobs in every state the list shows differently: a running notebook (its URL through
    Trainshed), a running endpoint (its address), a finished training job with inputs, an exit
    code and GPU-seconds, and a new job whose creator's account is gone."""
    node = make_node(gpu_type="cpu", gpus=4, name="box", agent_url="http://box.example:8101")
    cpu = GpuType.objects.get(slug="cpu")
    started = timezone.now() - timedelta(hours=2, microseconds=123_456)
    datasets = [Dataset.objects.create(project=project, name=f"d{i}", status="ready", created_by=owner)
                for i in range(3)]
    model = MLModel.objects.create(project=project, name="m", status="ready", created_by=owner)
    common = {"project": project, "gpu_type": cpu, "created_by": owner}
    made = [
        Job.objects.create(name="notebook", type=JobType.NOTEBOOK, status=JobStatus.RUNNING, node=node,
                           started_at=started, gpu_count=2, command="", **common),
        Job.objects.create(name="endpoint", type=JobType.ENDPOINT, status=JobStatus.RUNNING, node=node,
                           started_at=started, port=8000, address="10.0.0.7:31000", command="serve", **common),
        Job.objects.create(name="trained", status=JobStatus.FINISHED, node=node, started_at=started,
                           ended_at=started + timedelta(minutes=90), exit_code=0, ended_gpu_seconds=5400.5,
                           env={"EPOCHS": "3", "LR": "0.1"}, input_model=model, output_type="model",
                           status_reason="done", disk_gb=50, command="python train.py\necho ok", **common),
        Job.objects.create(name="orphan", command="x", project=project, gpu_type=cpu, created_by=None),
    ]
    made[2].input_datasets.set(datasets[:2])
    return made


@pytest.mark.parametrize("who", ["owner", "member_read"])
def test_each_listed_job_is_its_detail_answer(client, request, project, jobs, who):
    auth = _auth(request.getfixturevalue(who), project)
    listed = client.get(f"{API}/jobs", headers=auth).json()["items"]
    assert [j["name"] for j in listed] == ["orphan", "trained", "endpoint", "notebook"]
    for item, job in zip(listed, reversed(jobs), strict=True):
        shown = client.get(f"{API}/jobs/{job.pk}", headers=auth).json()
        _same_item(item, shown, running=job.status == JobStatus.RUNNING)
    by_name = {j["name"]: j for j in listed}
    assert by_name["notebook"]["url"] == f"http://testserver/jobs/{jobs[0].pk}/open/"
    assert by_name["endpoint"]["url"] == "http://10.0.0.7:31000/"
    assert by_name["trained"]["url"] is None and by_name["trained"]["gpu_hours"] == round(5400.5 / 3600, 6)
    assert len(by_name["trained"]["input_datasets"]) == 2 and by_name["trained"]["input_model"]
    assert by_name["orphan"]["created_by"] is None and by_name["orphan"]["node"] is None


def test_a_notebook_on_a_node_without_an_agent_has_no_url_in_either(client, owner, project, jobs):
    ComputeNode.objects.filter(name="box").update(agent_url="")
    auth = _auth(owner, project)
    item = next(j for j in client.get(f"{API}/jobs", headers=auth).json()["items"] if j["name"] == "notebook")
    assert item["url"] is None
    _same_item(item, client.get(f"{API}/jobs/{item['id']}", headers=auth).json(), running=True)


def test_each_listed_project_is_its_detail_answer(client, owner, project, member_read):
    other = ProjectFactory(name="Theirs")
    add_member(other, owner, jobs="read", datasets="all", models="read")
    for user in (owner, member_read):
        auth = _auth(user)
        listed = client.get(f"{API}/projects", headers=auth).json()["items"]
        assert len(listed) == (3 if user is owner else 2)
        for item in listed:
            assert item == client.get(f"{API}/projects/{item['id']}", headers=auth).json()
    theirs = next(p for p in client.get(f"{API}/projects", headers=_auth(owner)).json()["items"]
                  if p["name"] == "Theirs")
    assert theirs["is_owner"] is False and theirs["owner_email"] == other.owner.email
    assert theirs["access"] == {"jobs": "read", "datasets": "all", "models": "read"}
