"""A log poll may wait for what comes (`GET /jobs/{id}/logs?wait=`, what `job logs --follow` asks
at the end of the log): it answers with the chunk stored while it waited, or with the job's end,
or empty after its bound; and while it waits its database connection is not in a transaction."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.api_keys import api_key_create
from resources.jobs import selectors, services, wake
from resources.models import Job, JobStatus
from tests.factories import make_node
from tests.jobs_helpers import make_job, ready

API = "/api/v1"


def _auth(user, project) -> dict:
    return {"Authorization": f"Bearer {api_key_create(user=user, name='t')[1]}",
            "X-Trainshed-Project": str(project.pk)}


def _job(project, owner) -> Job:
    make_node(gpu_type="cpu", gpus=2, name="cpu-box")
    ready(project)
    return make_job(project, owner)


def _running(project, owner) -> Job:
    job = _job(project, owner)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    return job


def _append(job, seq, text):
    job = Job.objects.select_related("project").get(pk=job.pk)
    services.run_log_append(job=job, seq=seq, text=text, redact=selectors.job_redactor(job=job))


def _while_waiting(monkeypatch, then):
    """Run `then()` in another thread (own connection) once the poll found nothing and waits."""
    waiting = threading.Event()
    seen: dict = {}

    def log_waiting(*, job_id, wait, attempt):
        def first_attempt_then_signal():
            found = attempt()
            waiting.set()
            return found
        return real(job_id=job_id, wait=wait, attempt=first_attempt_then_signal)

    real = wake.log_waiting
    monkeypatch.setattr(wake, "log_waiting", log_waiting)

    def other():
        try:
            assert waiting.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()")
                seen["idle_in_transaction"] = cursor.fetchone()[0]
            then()
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    return thread, seen



@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY across connections")
def test_a_waiting_poll_answers_with_the_chunk_stored_meanwhile(owner, project, monkeypatch):
    job = _running(project, owner)
    _append(job, 1, "epoch 1\n")
    auth = _auth(owner, project)
    size = Client().get(f"{API}/jobs/{job.pk}/logs", headers=auth).json()["size"]
    thread, seen = _while_waiting(monkeypatch, lambda: _append(job, 2, "epoch 2\n"))
    page = Client().get(f"{API}/jobs/{job.pk}/logs?offset={size}&wait=10", headers=auth).json()
    thread.join(10)
    assert page["text"] == "epoch 2\n" and page["offset"] == size and not page["ended"]
    assert page["next_offset"] == page["size"] == size + len("epoch 2\n")
    assert seen["idle_in_transaction"] == 0  # the waiting request held no transaction open


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY across connections")
def test_a_waiting_poll_answers_when_the_job_ends(owner, project, monkeypatch):
    job = _running(project, owner)
    auth = _auth(owner, project)
    thread, _ = _while_waiting(monkeypatch, lambda: services.run_end(
        job=Job.objects.get(pk=job.pk), status=JobStatus.FINISHED, exit_code=0))
    page = Client().get(f"{API}/jobs/{job.pk}/logs?offset=0&wait=10", headers=auth).json()
    thread.join(10)
    assert page["text"] == "" and page["ended"] and page["status"] == "finished"


@pytest.mark.django_db(transaction=True)
def test_a_waiting_poll_with_nothing_new_answers_empty_after_its_bound(owner, project):
    job = _running(project, owner)
    _append(job, 1, "epoch 1\n")
    auth = _auth(owner, project)
    page = Client().get(f"{API}/jobs/{job.pk}/logs?offset=8&wait=0.3", headers=auth)
    assert page.status_code == 200
    assert page.json()["text"] == "" and page.json()["next_offset"] == 8 and not page.json()["ended"]
    assert Client().get(f"{API}/jobs/{job.pk}/logs?offset=8&wait=11", headers=auth).status_code == 422


def test_a_poll_with_text_or_of_an_ended_job_does_not_wait(client, owner, project):
    job = _job(project, owner)  # new, not running: its log is complete
    _append(job, 1, "done\n")
    auth = _auth(owner, project)
    page = client.get(f"{API}/jobs/{job.pk}/logs?offset=0&wait=10", headers=auth).json()
    assert page["text"] == "done\n" and page["ended"]
    end = client.get(f"{API}/jobs/{job.pk}/logs?offset=5&wait=10", headers=auth).json()
    assert end["text"] == "" and end["ended"]
