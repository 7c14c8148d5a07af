"""A node's claim can wait for a job to be placed (the agent's long-poll): the job placed during
the wait is handed out by that same request, a wait with nothing placed answers 204, and a wait
longer than the server allows is cut to its limit."""

import threading

import pytest
from django.db import connection
from django.test import Client

from compute import services as compute_services
from resources.jobs import services
from resources.models import JobStatus
from tests.jobs.test_node_agents import NODE_API, _as_node, _catalogue  # noqa: F401  (an autouse fixture)
from tests.jobs_helpers import local_node, make_job, ready, status_of


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="two threads writing at once: SQLite may answer 'database is locked'")
def test_a_waiting_claim_is_answered_with_the_job_placed_meanwhile(owner, project, tmp_path):
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    claiming = threading.Event()

    def place_once_claim_waits():
        try:
            claiming.wait(10)
            services.job_start(job=job, actor=owner)
        finally:
            connection.close()

    placer = threading.Thread(target=place_once_claim_waits)
    placer.start()
    claiming.set()
    answer = Client().post(f"{NODE_API}/claim?wait=15", **_as_node(token))
    placer.join(10)
    assert answer.status_code == 200
    assert answer.json()["job_id"] == str(job.pk)
    assert status_of(job) == JobStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_waiting_claim_with_nothing_placed_answers_no_content(tmp_path, settings):
    settings.TRAINSHED_NODE_CLAIM_WAIT_SECONDS = 0.3  # the server's limit cuts the asked 60 s
    token = compute_services.node_token_issue(node=local_node(tmp_path), actor=None)
    assert Client().post(f"{NODE_API}/claim?wait=60", **_as_node(token)).status_code == 204
