"""Jobs run for real: the node's agent (trainshed.agent, the code `trainshed-agent` runs) claims
them through the node API, runs each command in its sandbox and reports back. The agent talks to
this test's server in-process (`agent_for`), or from a thread while the test acts (`AgentThread`,
tests that commit)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from compute.models import Reservation
from projects.keys import secret_set
from resources import services as resource_services
from resources.jobs import selectors, services
from resources.models import Job, JobLogChunk, JobStatus, MLModel
from tests.factories import UserFactory, add_member
from tests.jobs_helpers import (
    PY,
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


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


TRAIN = (
    f"{PY} -c \"import os, pathlib; "
    "rows = pathlib.Path('input/datasets/reviews/reviews.csv').read_text().splitlines(); "
    "print('epoch 1 rows', len(rows)); print('token is', os.environ['WANDB_API_KEY']); "
    "print('epochs', os.environ['EPOCHS'], 'cuda', repr(os.environ['CUDA_VISIBLE_DEVICES'])); "
    "pathlib.Path('output/weights.txt').write_text('w=42')\"\n"
    "echo done"
)


@pytest.fixture
def trainer(project):
    """Jobs All, models read-only: their training job still produces its model."""
    person = UserFactory(email="trainer@example.com")
    add_member(project, person, jobs="all", datasets="read", models="read")
    return person


def test_training_job_runs_on_the_agent_and_its_output_becomes_a_model(owner, project, trainer, tmp_path):
    node = local_node(tmp_path)
    ready(project)
    agent = agent_for(node, tmp_path)
    secret_set(project=project, name="WANDB_API_KEY", value="s3cret-wandb-value", actor=None)
    reviews = resource_services.dataset_create_from_upload(
        project=project, name="Reviews", created_by=owner,
        files=[SimpleUploadedFile("reviews.csv", b"text,label\na,1\nb,0\n")])
    job = make_job(project, trainer, name="sentiment", command=TRAIN, env={"EPOCHS": "3"},
                   input_datasets=[reviews], output_type="model")
    services.job_start(job=job, actor=trainer)
    assert status_of(job) == JobStatus.STARTING  # placed: its node's agent claims it

    assert run_agent(agent) == [JobStatus.FINISHED]

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, job.status_reason
    assert (job.node, job.exit_code) == (node, 0)
    assert job.started_at and job.ended_at and job.ended_at >= job.started_at
    assert list(job.events.values_list("status", flat=True)) == ["new", "starting", "running", "finished"]
    run = job.runs.get()
    assert run.ended_at is not None and run.started_by == trainer and run.gpu_count == 1
    tail = selectors.job_log_tail(job=job)
    assert "epoch 1 rows 3" in tail and "epochs 3 cuda ''" in tail and "done" in tail
    assert "token is ***" in tail
    # redacted before it was stored, not only when served
    assert not JobLogChunk.objects.filter(job=job, text__contains="s3cret-wandb-value").exists()
    model = MLModel.objects.get(source_job=job)
    assert (model.project, model.created_by, model.status) == (project, trainer, "ready")
    assert list(model.files.values_list("path", flat=True)) == ["weights.txt"]
    with pytest.raises(PermissionDenied):  # read-only on models: cannot rename or delete it
        resource_services.resource_rename(resource=model, name="mine", actor=trainer)
    assert not Reservation.objects.exists()  # GPUs freed
    workspace = tmp_path / "agent" / "jobs" / str(job.pk)  # the agent's disk, not the server's
    assert (workspace / "output" / "weights.txt").read_text() == "w=42"
    copied = workspace / "input" / "datasets" / "reviews" / "reviews.csv"
    assert copied.read_bytes() == b"text,label\na,1\nb,0\n"
    assert copied.stat().st_mode & 0o777 == 0o444  # inputs are read-only
    assert copied.parent.stat().st_mode & 0o777 == 0o555


def test_failing_command_ends_failed_with_its_exit_code_and_log(owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo before the failure\nexit 3\necho never")
    services.job_start(job=job, actor=owner)
    assert run_agent(agent) == [JobStatus.FAILED]
    job.refresh_from_db()
    assert (job.status, job.exit_code) == (JobStatus.FAILED, 3)
    assert job.status_reason == "The command exited with code 3."
    tail = selectors.job_log_tail(job=job)
    assert "before the failure" in tail and "never" not in tail
    assert not Reservation.objects.exists()


def test_a_removed_job_s_workspace_is_deleted_by_its_agent(owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo kept > output/a.txt")
    services.job_start(job=job, actor=owner)
    run_agent(agent)
    workspace = tmp_path / "agent" / "jobs" / str(job.pk)
    assert (workspace / "output" / "a.txt").exists()
    agent.heartbeat()
    assert workspace.exists()  # kept while the job is in its project
    services.job_remove(job=job, actor=owner)
    agent.heartbeat()
    assert not workspace.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stop_ends_a_long_running_command_within_seconds(owner, project, tmp_path):
    seed_gpu_types()
    node = local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, command=f"{PY} -c \"import time; print('working', flush=True); "
                                           "time.sleep(120)\"")
    services.job_start(job=job, actor=owner)
    with AgentThread(node, tmp_path, kill_grace_seconds=1):
        wait_for(lambda: status_of(job) == JobStatus.RUNNING)
        wait_for(lambda: "working" in selectors.job_log_tail(job=job))
        services.job_stop(job=Job.objects.get(pk=job.pk), actor=None, reason="out of credits")
        wait_for(lambda: status_of(job) == JobStatus.STOPPED, timeout=10)
    job.refresh_from_db()
    assert job.status_reason == "out of credits" and job.ended_at is not None
    assert job.runs.get().ended_at is not None
    assert not Reservation.objects.exists()
    assert "Stopping: out of credits." in selectors.job_log_tail(job=job)


def test_a_job_whose_files_outgrow_its_disk_size_is_stopped_with_the_reason(owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path, disk_check_seconds=0.2, kill_grace_seconds=1)
    ready(project)
    # A sparse file: 1.2 GB of apparent size without writing it (the check counts apparent sizes).
    job = make_job(project, owner, disk_gb=1, command="truncate -s 1200MB output/big.bin\nsleep 120")
    services.job_start(job=job, actor=owner)
    assert run_agent(agent) == [JobStatus.FAILED]
    job.refresh_from_db()
    assert job.status_reason == "The job's files reached 1.2 GB, over its disk size of 1 GB."
    assert "over its disk size of 1 GB. It was stopped." in selectors.job_log_tail(job=job)
    assert job.runs.get().ended_at is not None and not Reservation.objects.exists()


def test_workspace_bytes_counts_files_in_every_folder_and_not_what_links_point_to(tmp_path):
    from trainshed.agent.jobs import workspace_bytes

    (tmp_path / "input" / "datasets" / "d").mkdir(parents=True)
    (tmp_path / "input" / "datasets" / "d" / "a.csv").write_bytes(b"x" * 1000)
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "model.bin").write_bytes(b"y" * 234)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.bin"
    outside.write_bytes(b"z" * 10_000)
    (tmp_path / "output" / "link.bin").symlink_to(outside)
    assert workspace_bytes(tmp_path) == 1234
    assert workspace_bytes(tmp_path / "missing") == 0


def test_a_job_whose_gpu_has_no_device_node_fails_with_the_reason(owner, project, tmp_path):
    (tmp_path / "dev").mkdir()  # this node's GPUs have no device nodes (driver not loaded)
    agent = agent_for(local_node(tmp_path, gpu_type="t4"), tmp_path, device_dir=tmp_path / "dev")
    ready(project)
    job = make_job(project, owner, gpu_type="t4", command="echo should not run")
    services.job_start(job=job, actor=owner)
    assert run_agent(agent) == [JobStatus.FAILED]
    job.refresh_from_db()
    assert job.status_reason == f"The job could not start: GPU 0 has no device node {tmp_path}/dev/nvidia0"
    assert not Reservation.objects.exists()


def test_a_job_over_its_memory_limit_is_stopped_with_the_reason_or_told_the_limit_is_missing(
        owner, project, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path, memory_bytes=100 * 2**20)
    ready(project)
    job = make_job(project, owner, command=f"{PY} -c \"x = bytearray(400 * 2**20); print('allocated')\"")
    services.job_start(job=job, actor=owner)
    status = run_agent(agent)[0]
    job.refresh_from_db()
    tail = selectors.job_log_tail(job=job)
    if "Limits on this node:" in tail:  # no usable memory cgroup here: the job's log says so
        assert "memory is not limited" in tail and status == JobStatus.FINISHED
    else:
        assert (status, job.status_reason) == (JobStatus.FAILED, "The job hit its memory limit (0.1 GB).")
        assert "allocated" not in tail
