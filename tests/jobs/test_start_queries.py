"""What a job's start costs the control plane, in queries: `job_start`, the agent's claim and each
log chunk it sends. A chunk's request does not read the project's keys and secrets again (its
redactor is kept under the project's secrets_version), so its count stays the same with 1 or 20
secrets; a secret set while the job runs is still redacted from the chunks after it."""

import pytest
from django.db import connection
from django.test import Client

from compute import services as compute_services
from projects.keys import key_set, secret_set
from resources.jobs import selectors, services
from resources.models import JobLogChunk
from tests.jobs_helpers import local_node, make_job, ready, seed_gpu_types

NODE_API = "/api/v1/node"


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


def _started(owner, project, tmp_path, *, secrets: int):
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    for i in range(secrets):
        secret_set(project=project, name=f"SECRET_{i}", value=f"secret-value-{i:03d}", actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    services.job_start(job=job, actor=owner)
    return job, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _chunk(job, headers, seq, text):
    answer = Client().post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": seq, "text": text},
                           content_type="application/json", **headers)
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.mark.parametrize("secrets", [1, 20])
def test_a_log_chunk_costs_the_same_queries_whatever_the_number_of_secrets(
        owner, project, tmp_path, secrets, django_assert_num_queries):
    job, headers = _started(owner, project, tmp_path, secrets=secrets)
    assert Client().post(f"{NODE_API}/claim", **headers).status_code == 200
    _chunk(job, headers, 1, "first secret-value-000\n")
    # the node, the job, its lock, the last chunk's number, the insert, the job's counters, the
    # NOTIFY that wakes the log's followers (+ the savepoint the test's transaction wraps the
    # service's atomic block in: 2)
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 8):
        assert _chunk(job, headers, 2, "second secret-value-000\n") == {"acked": 2}
    assert "secret-value" not in selectors.job_log_tail(job=job)
    assert JobLogChunk.objects.filter(job=job).count() == 2


def test_a_secret_set_while_the_job_runs_is_redacted_from_later_chunks(owner, project, tmp_path):
    job, headers = _started(owner, project, tmp_path, secrets=1)
    Client().post(f"{NODE_API}/claim", **headers)
    _chunk(job, headers, 1, "before new-secret-value\n")
    secret_set(project=project, name="LATER", value="new-secret-value", actor=None)
    _chunk(job, headers, 2, "after new-secret-value\n")
    key_set(project=project, kind="huggingface", public={}, secret="hf_later-key-value-0123456789", actor=None)
    _chunk(job, headers, 3, "key hf_later-key-value-0123456789\n")
    stored = list(JobLogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))
    assert stored[1] == "after ***\n" and stored[2] == "key ***\n"


def test_the_claim_reads_the_spec_in_one_query_per_kind(owner, project, tmp_path, django_assert_num_queries):
    job, headers = _started(owner, project, tmp_path, secrets=3)
    # the node; the claimed job with its starter and last chunk number; its status, event and
    # run; the keys, the secrets, the input datasets (+ the savepoints around the claim: 2)
    with django_assert_num_queries(10):
        spec = Client().post(f"{NODE_API}/claim", **headers).json()
    assert spec["job_id"] == str(job.pk) and spec["log_seq"] == 0
    assert spec["env"]["SECRET_2"] == "secret-value-002"


def test_job_start_reads_each_row_once(owner, project, tmp_path, django_assert_max_num_queries):
    job, _ = _started(owner, project, tmp_path, secrets=0)
    fresh = make_job(project, owner, command="true", name="fresh")
    # the job locked with its project and owner, the billing check (one read: the account, its
    # balance, the cap), the placement (the reservation: no foreign-key or constraint reads), the
    # status change (the last run's leftovers cleared with it), its event, NOTIFY; 22 before (24 allowed)
    with django_assert_max_num_queries(16):
        services.job_start(job=fresh, actor=owner)
    services.job_stop(job=job, actor=owner)
    with django_assert_max_num_queries(19):  # again: also the change back to new, and its event
        services.job_start(job=job, actor=owner)
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert fresh.status == job.status == "starting"
    assert job.stop_requested_at is None and job.exit_code is None and job.address == ""
    assert list(job.events.order_by("at", "id").values_list("status", flat=True))[-2:] == ["new", "starting"]
