"""Node agents and the node-scoped API: a node is its id and its token; an agent sees only its own
node and the jobs placed on it, gets the keys of one job's project for one run, and stops when
its token is revoked."""

import pytest
from django.test import Client

from compute import services as compute_services
from compute.models import ComputeNode
from projects.keys import secret_set
from resources.jobs import selectors, services
from resources.models import JobLogChunk, JobStatus
from tests.factories import ProjectFactory, UserFactory
from tests.jobs_helpers import (
    AgentThread,
    agent_for,
    local_node,
    make_job,
    ready,
    run_agent,
    seed_gpu_types,
    status_of,
    wait_for,
)

NODE_API = "/api/v1/node"


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


def _as_node(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_only_the_node_a_job_is_placed_on_claims_it_and_another_nodes_token_is_refused(
        owner, project, tmp_path):
    here = local_node(tmp_path / "here", name="here")
    elsewhere = local_node(tmp_path / "there", owner=UserFactory(), name="elsewhere")
    here_agent = agent_for(here, tmp_path / "here")
    other_token = compute_services.node_token_issue(node=elsewhere, actor=None)
    ready(project)
    job = make_job(project, owner, command="echo ran")
    services.job_start(job=job, actor=owner)
    job.refresh_from_db()
    assert job.node == here

    api = Client()
    assert api.post(f"{NODE_API}/claim", **_as_node(other_token)).status_code == 204
    assert here_agent.run_claimed() == JobStatus.FINISHED, selectors.job_log_tail(job=job)
    for path in (f"/jobs/{job.pk}/log", f"/jobs/{job.pk}/heartbeat", f"/jobs/{job.pk}/end"):
        answer = api.post(NODE_API + path, {"seq": 9, "text": "forged", "status": "finished"},
                          content_type="application/json", **_as_node(other_token))
        assert answer.status_code == 404, path
    assert not JobLogChunk.objects.filter(text__contains="forged").exists()
    assert api.post(f"{NODE_API}/claim", **_as_node("tsn_not-a-token")).status_code == 401
    assert api.post(f"{NODE_API}/claim", HTTP_AUTHORIZATION="Bearer ts_an-api-key").status_code == 401


def test_the_spec_carries_the_keys_of_that_jobs_project_only(owner, project, tmp_path):
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    other = ProjectFactory(owner=owner, name="Other")
    secret_set(project=project, name="WANDB_API_KEY", value="mine-value", actor=None)
    secret_set(project=other, name="OTHER_SECRET", value="not-for-this-job", actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    services.job_start(job=job, actor=owner)
    spec = Client().post(f"{NODE_API}/claim", **_as_node(token)).json()
    assert spec["job_id"] == str(job.pk) and spec["env"]["WANDB_API_KEY"] == "mine-value"
    assert "OTHER_SECRET" not in spec["env"]
    assert not {"DATABASE_URL", "SECRET_KEY", "TRAINSHED_FERNET_KEYS"} & set(spec["env"])
    assert spec["env"]["TRAINSHED_WORKSPACE"] == "/workspace"
    assert status_of(job) == JobStatus.RUNNING
    # once claimed, it is not handed out again
    assert Client().post(f"{NODE_API}/claim", **_as_node(token)).status_code == 204


def test_a_log_chunk_sent_again_is_stored_once(owner, project, tmp_path):
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    services.job_start(job=job, actor=owner)
    api = Client()
    api.post(f"{NODE_API}/claim", **_as_node(token))
    for _ in range(2):  # the agent did not hear the first answer
        answer = api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 1, "text": "line one\n"},
                          content_type="application/json", **_as_node(token))
        assert answer.json() == {"acked": 1}
    skipped = api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 3, "text": "x"},
                       content_type="application/json", **_as_node(token))
    assert skipped.status_code == 400 and "Expected chunk 2" in skipped.json()["detail"]
    assert selectors.job_log_tail(job=job) == "line one"


def test_the_heartbeat_records_what_the_agent_measured(owner, tmp_path):
    node = local_node(tmp_path, owner=owner, online=False, hostname="", storage_path="")
    agent = agent_for(node, tmp_path)  # its first heartbeat
    node.refresh_from_db()
    assert node.state == "online" and node.hostname and node.storage_free_bytes > 0
    assert node.storage_path == str(tmp_path / "agent" / "files")
    assert node.sandbox_ok is agent.can_sandbox


def test_a_node_that_cannot_sandbox_runs_only_its_owners_jobs(owner, project, tmp_path):
    public = local_node(tmp_path / "pub", name="public-old", sandbox_ok=False)
    ready(project)
    job = make_job(project, owner, command="echo hi")
    services.job_start(job=job, actor=owner)
    assert status_of(job) == JobStatus.WAITING  # never placed on a public node without a sandbox
    own = local_node(tmp_path / "own", owner=owner, name="own-box", sandbox_ok=False)
    assert services.jobs_place_waiting() == 1
    job.refresh_from_db()
    assert job.node == own and public.reservations.count() == 0


def test_the_agent_refuses_another_accounts_job_when_it_cannot_sandbox(owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path, name="public-box"), tmp_path)
    # it could sandbox when it last said so; now it cannot (placement went by what it said)
    agent.can_sandbox, agent.sandbox_reason = False, "no user namespaces"
    ready(project)
    job = make_job(project, owner, command="echo should not run")
    services.job_start(job=job, actor=owner)
    assert run_agent(agent) == [JobStatus.FAILED]
    job.refresh_from_db()
    assert job.status_reason == "This node cannot sandbox jobs, so it runs only its owner's own jobs."
    assert "should not run" not in selectors.job_log_tail(job=job)


def test_the_node_api_is_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/node/heartbeat", "/api/v1/node/claim", "/api/v1/node/jobs/{job_id}/log",
                 "/api/v1/node/jobs/{job_id}/end", "/api/v1/node/notebook-access"):
        assert path in paths


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_stops_the_agent_and_its_job(owner, project, tmp_path):
    seed_gpu_types()
    node = local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo started; sleep 120")
    services.job_start(job=job, actor=owner)
    thread = AgentThread(node, tmp_path, kill_grace_seconds=1)
    with thread:
        wait_for(lambda: "started" in selectors.job_log_tail(job=job))
        compute_services.node_token_revoke(node=ComputeNode.objects.get(pk=node.pk), actor=None)
        thread.join(timeout=20)
        assert not thread.is_alive()  # the agent stopped by itself
    assert "refused this node's token" in thread.agent.refused
    assert thread.agent.runs == {}
    # its job is failed by the reaper once its heartbeat is stale, as for any lost agent
    assert status_of(job) == JobStatus.RUNNING


def test_chunks_past_the_log_limit_are_acknowledged_and_not_kept(owner, project, tmp_path, settings):
    settings.TRAINSHED_JOB_LOG_MAX_BYTES = 20
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    services.job_start(job=job, actor=owner)
    api = Client()
    api.post(f"{NODE_API}/claim", **_as_node(token))
    for seq, text in enumerate(["0123456789\n", "abcdefghijklmnop\n", "dropped\n", "dropped too\n"], 1):
        answer = api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": seq, "text": text},
                          content_type="application/json", **_as_node(token))
        assert answer.json() == {"acked": seq}  # the agent goes on to the next chunk
    again = api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 3, "text": "dropped\n"},
                     content_type="application/json", **_as_node(token))
    assert again.json() == {"acked": 4}
    log = "".join(selectors.job_log_stream(job=job))
    assert log == "0123456789\nabcdefghi\n[trainshed] The log reached its size limit; later output is not kept.\n"
    assert JobLogChunk.objects.filter(job=job).count() == 3  # one empty chunk holds the last number


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_claim_answer_was_lost_is_run_by_the_agent_once(owner, project, tmp_path):
    seed_gpu_types()
    node = local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo ran")
    services.job_start(job=job, actor=owner)
    thread = AgentThread(node, tmp_path)
    # The agent's claim reached the server (the job is running) but its answer never came back.
    assert services.run_claim_next(node=ComputeNode.objects.get(pk=node.pk)) == job
    with thread:
        wait_for(lambda: status_of(job) == JobStatus.FINISHED, timeout=60)
    assert selectors.job_log_tail(job=job).splitlines().count("ran") == 1
    assert job.runs.count() == 1
