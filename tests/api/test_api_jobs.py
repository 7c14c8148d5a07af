"""Jobs over the REST API: they live in the request's project, another project's job is a 404,
bad input is a 400 naming the field, and a job started through the API runs and its log comes
back with the project's secrets as ***."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.api_keys import api_key_create
from compute.models import ComputeNode, Reservation
from projects.keys import secret_set
from resources import services as resource_services
from resources.jobs import selectors
from resources.jobs import services as job_services
from resources.models import Job, JobRun, JobStatus, JobType
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import PY, agent_for, local_node, make_job, ready, run_agent, seed_gpu_types

API = "/api/v1"


def _auth(user, project=None) -> dict:
    headers = {"Authorization": f"Bearer {api_key_create(user=user, name='t')[1]}"}
    if project is not None:
        headers["X-Trainshed-Project"] = str(project.pk)
    return headers


def _post(client, path, body, headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def _body(**overrides) -> dict:
    body = {"name": "train", "type": "training", "gpu_type": "cpu", "gpu_count": 1,
            "command": "python train.py", "env": {"EPOCHS": "3"}}
    body.update(overrides)
    return body


@pytest.fixture
def cpu(project):
    """A public node with 2 cpu "GPUs" that the project may use."""
    node = make_node(gpu_type="cpu", gpus=2, name="cpu-box")
    ready(project)
    return node


def test_create_then_list_and_show_in_the_requests_project(client, owner, project, cpu):
    auth = _auth(owner, project)
    dataset = resource_services.dataset_create_from_upload(
        project=project, name="Reviews", created_by=owner,
        files=[SimpleUploadedFile("r.csv", b"a\n1\n")])

    created = _post(client, f"{API}/jobs", _body(input_datasets=[str(dataset.pk)], output_type="model",
                                                 command="echo one\necho two"), auth)

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["status"], body["gpu_type"], body["gpu_count"]) == ("train", "new", "cpu", 1)
    assert body["command"] == "echo one\necho two" and body["env"] == {"EPOCHS": "3"}
    assert body["input_datasets"] == [str(dataset.pk)] and body["output_type"] == "model"
    assert body["created_by"] == "owner@example.com" and body["node"] is None and body["url"] is None
    assert [e["status"] for e in body["events"]] == ["new"]
    assert Job.objects.get(pk=body["id"]).project == project

    listed = client.get(f"{API}/jobs", headers=auth).json()
    assert [j["id"] for j in listed["items"]] == [body["id"]] and listed["next"] is None
    assert client.get(f"{API}/jobs?status=running", headers=auth).json()["items"] == []
    assert client.get(f"{API}/jobs", headers=_auth(owner)).json()["items"] == []  # Personal: none

    shown = client.get(f"{API}/jobs/{body['id']}", headers=auth).json()
    assert shown["id"] == body["id"] and shown["gpu_hours"] == 0


def test_list_is_a_fixed_number_of_queries(client, owner, project, cpu, django_assert_max_num_queries):
    auth = _auth(owner, project)
    for n in range(6):
        job = make_job(project, owner, name=f"job {n}")
        JobRun.objects.create(job=job, started_at=timezone.now(), node=cpu, gpu_type=job.gpu_type,
                              gpu_count=1)
    with django_assert_max_num_queries(12):
        listed = client.get(f"{API}/jobs", headers=auth).json()
    assert len(listed["items"]) == 6


def test_another_projects_job_is_404_for_every_operation(client, owner, project, cpu):
    other = ProjectFactory(owner=owner, name="Other")
    ready(other)
    theirs = make_job(other, owner, name="elsewhere")
    auth = _auth(owner, project)  # the owner sees both projects, but asks in `project`
    base = f"{API}/jobs/{theirs.pk}"
    answers = [client.get(base, headers=auth), client.get(f"{base}/logs", headers=auth),
               client.post(f"{base}/start", headers=auth), client.post(f"{base}/stop", headers=auth),
               client.delete(base, headers=auth)]
    assert [a.status_code for a in answers] == [404] * 5
    assert {a.json()["detail"] for a in answers} == {"Not found."}
    assert Job.objects.get(pk=theirs.pk).status == JobStatus.NEW

    stranger = UserFactory(email="stranger@example.com")  # and someone who cannot see `other`
    assert client.get(base, headers=_auth(stranger, other)).status_code == 404


def test_read_member_is_refused_writes_and_none_member_sees_nothing(
        client, owner, project, member_read, member_none, cpu):
    job = make_job(project, owner)
    read = _auth(member_read, project)
    assert client.get(f"{API}/jobs/{job.pk}", headers=read).status_code == 200
    assert client.get(f"{API}/jobs/{job.pk}/logs", headers=read).status_code == 200
    assert _post(client, f"{API}/jobs", _body(), read).status_code == 403
    assert client.post(f"{API}/jobs/{job.pk}/start", headers=read).status_code == 403
    assert client.post(f"{API}/jobs/{job.pk}/stop", headers=read).status_code == 403
    assert client.delete(f"{API}/jobs/{job.pk}", headers=read).status_code == 403
    none = _auth(member_none, project)
    assert client.get(f"{API}/jobs", headers=none).status_code == 404
    assert client.get(f"{API}/jobs/{job.pk}", headers=none).status_code == 404
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"gpu_type": "a100"}, "gpu_type", "not a GPU type this project may use"),
    ({"gpu_count": 3}, "gpu_count", "the largest has 2"),
    ({"command": "   "}, "command", "Enter the command"),
    ({"env": {"bad name": "x"}}, "env", "not a valid variable name"),
    ({"type": "endpoint", "command": "serve"}, "port", "port"),
    ({"input_model": "7c0f5c8e-6f39-4d3c-9a43-3f1f0c7b2b11"}, "input_model", "not a model of this project"),
])
def test_bad_input_is_400_naming_the_field(client, owner, project, cpu, overrides, field, words):
    make_node(gpu_type="a100", gpus=8, owner=UserFactory())  # someone else's a100: not for us
    response = _post(client, f"{API}/jobs", _body(**overrides), _auth(owner, project))
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and words in response.json()["detail"]
    assert not Job.objects.exists()


def test_a_dataset_of_another_project_is_refused_naming_input_datasets(client, owner, project, cpu):
    other = ProjectFactory(owner=owner, name="Other")
    theirs = resource_services.dataset_create_from_upload(
        project=other, name="Theirs", created_by=owner, files=[SimpleUploadedFile("x.csv", b"x")])
    response = _post(client, f"{API}/jobs", _body(input_datasets=[str(theirs.pk)]), _auth(owner, project))
    assert response.status_code == 400
    assert response.json()["field"] == "input_datasets"
    assert str(theirs.pk) in response.json()["detail"] and "Theirs" not in response.json()["detail"]


def test_wrong_shapes_are_422_naming_the_field(client, owner, project, cpu):
    auth = _auth(owner, project)
    bad_type = _post(client, f"{API}/jobs", _body(type="batch"), auth)
    assert bad_type.status_code == 422 and bad_type.json()["field"] == "type"
    bad_id = _post(client, f"{API}/jobs", _body(input_datasets=["nope"]), auth)
    assert bad_id.status_code == 422 and "input_datasets" in bad_id.json()["detail"]


def test_start_stop_and_remove_through_the_api(client, owner, project, cpu):
    auth = _auth(owner, project)
    job = make_job(project, owner)

    started = client.post(f"{API}/jobs/{job.pk}/start", headers=auth)
    assert started.status_code == 200, started.content
    assert (started.json()["status"], started.json()["node"]) == ("starting", "cpu-box")
    again = client.post(f"{API}/jobs/{job.pk}/start", headers=auth)
    assert again.status_code == 400 and "already starting" in again.json()["detail"]

    stopped = client.post(f"{API}/jobs/{job.pk}/stop", headers=auth)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert [e["status"] for e in stopped.json()["events"]] == ["new", "starting", "stopped"]
    assert stopped.json()["events"][-1]["actor"] == "owner@example.com"
    assert not Reservation.objects.exists()
    not_running = client.post(f"{API}/jobs/{job.pk}/stop", headers=auth)
    assert not_running.status_code == 400 and "not running" in not_running.json()["detail"]

    second = make_job(project, owner, name="second")
    client.post(f"{API}/jobs/{second.pk}/start", headers=auth)
    removed = client.delete(f"{API}/jobs/{second.pk}", headers=auth)  # stops it first
    assert removed.status_code == 204
    second.refresh_from_db()
    assert second.status == JobStatus.STOPPED and second.removed_at is not None
    assert client.get(f"{API}/jobs/{second.pk}", headers=auth).status_code == 404
    assert [j["id"] for j in client.get(f"{API}/jobs", headers=auth).json()["items"]] == [str(job.pk)]


def test_a_running_notebook_shows_its_url_to_a_read_member(client, owner, project, member_read, cpu):
    job = make_job(project, owner, type="notebook", command="")
    ComputeNode.objects.filter(pk=cpu.pk).update(agent_url="http://node.example:8101")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, node=cpu,
                                         started_at=timezone.now(), last_heartbeat=timezone.now())
    shown = client.get(f"{API}/jobs/{job.pk}", headers=_auth(member_read, project)).json()
    # Trainshed's own link, which checks access: no Jupyter token in the API's answers
    assert shown["type"] == JobType.NOTEBOOK and shown["url"] == f"http://testserver/jobs/{job.pk}/open/"
    assert "token" not in shown["url"]


def _append(job, seq, text):
    """A chunk as the node API stores it (redacted, with its byte offset)."""
    job.refresh_from_db()
    job_services.run_log_append(job=job, seq=seq, text=text, redact=selectors.job_redactor(job=job))


def test_logs_by_offset_and_tail_are_redacted_and_cut_on_characters(client, owner, project, cpu):
    secret_set(project=project, name="MY_TOKEN", value="hf-very-secret-1234", actor=None)
    job = make_job(project, owner)
    lines = ["line 1 ü\n", "token hf-very-secret-1234 end\n", "line 3 ✓\n"]
    for seq, text in enumerate(lines, start=1):
        _append(job, seq, text)
    auth = _auth(owner, project)
    whole = "line 1 ü\ntoken *** end\nline 3 ✓\n"

    page = client.get(f"{API}/jobs/{job.pk}/logs", headers=auth).json()
    assert page == {"text": whole, "offset": 0, "next_offset": len(whole.encode()),
                    "size": len(whole.encode()), "status": "new", "ended": True}

    # From a byte in the middle of "ü" (2 bytes at 7-8): the slice starts after that character.
    mid = client.get(f"{API}/jobs/{job.pk}/logs?offset=8", headers=auth).json()
    assert mid["offset"] == 9 and mid["text"] == whole.encode()[9:].decode()
    tail = client.get(f"{API}/jobs/{job.pk}/logs?tail=2", headers=auth).json()
    assert tail["text"] == "token *** end\nline 3 ✓\n" and tail["next_offset"] == tail["size"]
    past = client.get(f"{API}/jobs/{job.pk}/logs?offset=100000", headers=auth).json()
    assert past["text"] == "" and past["next_offset"] == past["size"]
    assert client.get(f"{API}/jobs/{job.pk}/logs?tail=0", headers=auth).status_code == 422


def test_a_long_log_comes_in_pages(client, owner, project, cpu, monkeypatch):
    from resources import api_jobs

    monkeypatch.setattr(api_jobs, "LOG_PAGE_BYTES", 10)
    job = make_job(project, owner)
    _append(job, 1, "ééééééé\nabcdefghij\n")
    auth = _auth(owner, project)
    got, offset = "", 0
    for _ in range(10):
        page = client.get(f"{API}/jobs/{job.pk}/logs?offset={offset}", headers=auth).json()
        assert len(page["text"].encode()) <= 10
        got, offset = got + page["text"], page["next_offset"]
        if offset >= page["size"]:
            break
    assert got == "ééééééé\nabcdefghij\n"


def test_a_secret_set_after_the_log_was_stored_is_hidden_when_served(client, owner, project, cpu):
    job = make_job(project, owner)
    _append(job, 1, "step 1\n")
    _append(job, 2, "token hf-later-secret-99 end\n")
    _append(job, 3, "step 3\n")
    secret_set(project=project, name="LATER", value="hf-later-secret-99", actor=None)
    auth = _auth(owner, project)
    got, offset = "", 0
    for _ in range(10):
        page = client.get(f"{API}/jobs/{job.pk}/logs?offset={offset}", headers=auth).json()
        got, offset = got + page["text"], page["next_offset"]
        if offset >= page["size"]:
            break
    assert got == "step 1\ntoken *** end\nstep 3\n"
    tail = client.get(f"{API}/jobs/{job.pk}/logs?tail=2", headers=auth).json()
    assert tail["text"] == "token *** end\nstep 3\n"


@pytest.mark.parametrize("chunks", [1, 300])
def test_a_poll_at_the_end_of_a_log_reads_no_chunk_whatever_its_length(
        client, owner, project, cpu, chunks, django_assert_num_queries):
    job = make_job(project, owner)
    for seq in range(1, chunks + 1):
        _append(job, seq, f"line {seq} " + "x" * 200 + "\n")
    auth = _auth(owner, project)
    size = client.get(f"{API}/jobs/{job.pk}/logs?tail=1", headers=auth).json()["size"]
    client.get(f"{API}/jobs/{job.pk}", headers=auth)  # the session's first reads
    with django_assert_num_queries(_END_POLL_QUERIES):
        page = client.get(f"{API}/jobs/{job.pk}/logs?offset={size}", headers=auth).json()
    assert page["text"] == "" and page["next_offset"] == page["size"] == size and page["ended"]
    new = client.get(f"{API}/jobs/{job.pk}/logs?offset={size - 4}", headers=auth).json()
    assert new["text"] == "xxx\n" and new["next_offset"] == size


_END_POLL_QUERIES = 3  # the API key, the access check, the job row (no chunk): the same at any length


@pytest.mark.django_db
def test_a_job_started_through_the_api_runs_and_its_log_hides_the_secret(client, tmp_path):
    seed_gpu_types()
    owner = UserFactory(email="owner@example.com")
    project = ProjectFactory(owner=owner, name="Runs")
    agent = agent_for(local_node(tmp_path, name="local-box"), tmp_path)
    ready(project)
    secret_set(project=project, name="WANDB_API_KEY", value="s3cret-wandb-value", actor=None)
    auth = _auth(owner, project)
    command = (f"{PY} -c \"import os; print('epoch', os.environ['EPOCHS']); "
               "print('token is', os.environ['WANDB_API_KEY'])\"\necho done")

    created = _post(client, f"{API}/jobs", _body(command=command), auth).json()
    assert client.post(f"{API}/jobs/{created['id']}/start", headers=auth).json()["status"] == "starting"
    run_agent(agent)

    shown = client.get(f"{API}/jobs/{created['id']}", headers=auth).json()
    assert (shown["status"], shown["node"], shown["exit_code"]) == ("finished", "local-box", 0)
    assert shown["started_at"] and shown["ended_at"] and shown["gpu_hours"] > 0
    assert [e["status"] for e in shown["events"]] == ["new", "starting", "running", "finished"]
    log = client.get(f"{API}/jobs/{created['id']}/logs", headers=auth)
    assert log.status_code == 200
    body = log.json()
    assert "epoch 3\ntoken is ***\ndone\n" in body["text"] and body["ended"] is True
    assert "s3cret" not in log.content.decode()


@pytest.mark.parametrize("overrides", [
    {"gpu_count": 2**70}, {"gpu_count": -(2**70)}, {"disk_gb": 2**70}, {"disk_gb": 0},
    {"type": "endpoint", "port": 2**70}, {"port": 2**70},
    {"env": {f"V{n}": "x" for n in range(200)}}, {"name": "n" * 5000}, {"command": "x" * 30000},
])
def test_absurd_numbers_and_sizes_are_refused_not_crashed(client, owner, project, cpu, overrides):
    response = _post(client, f"{API}/jobs", _body(**overrides), _auth(owner, project))
    assert response.status_code in (201, 400, 422), response.content
    if response.status_code == 201:  # a port is only kept for endpoints
        assert response.json()["port"] is None
