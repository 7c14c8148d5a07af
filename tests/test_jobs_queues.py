"""A job runs only on the node it was placed on: it is queued on that node's own queue, and
`manage.py jobs worker` on a machine takes only its nodes' queues."""

import pytest
from django.core.management import CommandError, call_command

from resources.jobs import services
from resources.models import JobStatus
from tests.jobs_helpers import local_node, make_job, ready, seed_gpu_types, status_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


def test_only_the_placed_nodes_worker_runs_the_job(owner, project, tmp_path):
    here = local_node(tmp_path, name="here")
    there_dir = tmp_path / "there"
    there_dir.mkdir()
    there = local_node(there_dir, name="there")
    there.hostname = "another-machine.example"
    there.save()
    # Only "there" has free GPUs, so the job is placed there.
    here.gpu_count, here.status = 2, "draining"
    here.save()
    ready(project)
    job = make_job(project, owner, command="echo ran")
    services.job_start(job=job, actor=owner)
    job.refresh_from_db()
    assert job.node == there
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.get().queue_name == there.job_queue

    call_command("jobs", "worker", "--batch")  # this machine: takes "here"'s queue only
    assert status_of(job) == JobStatus.STARTING
    call_command("jobs", "worker", "--batch", "--hostname", "another-machine.example")
    assert status_of(job) == JobStatus.FINISHED


def test_a_machine_without_a_node_is_told_so(db):
    with pytest.raises(CommandError, match="No compute node is registered for nowhere.example"):
        call_command("jobs", "worker", "--batch", "--hostname", "nowhere.example")
