"""Jobs run for real: a real subprocess per job. The training, failing and no-JupyterLab tests go
through the whole path (Start enqueues on the Tasks API's database backend, `manage.py db_worker
--batch` runs the task); the tests that must act while a job runs (stop, notebook, endpoint) run
the same runner in a background thread (RunnerThread, see tests/jobs_helpers.py for why).

These tests commit for real (the worker commits and checks its connection as in production)."""

import importlib.util
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compute.models import Reservation
from projects.keys import secret_set
from projects.middleware import SESSION_KEY
from resources import services as resource_services
from resources.jobs import selectors, services
from resources.models import Job, JobStatus, MLModel
from tests.factories import UserFactory, add_member
from tests.jobs_helpers import (
    PY,
    RunnerThread,
    local_node,
    make_job,
    ready,
    run_worker,
    seed_gpu_types,
    status_of,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)



@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


FAKE_JUPYTER = Path(__file__).parent / "jobs_fake_jupyter.py"

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


def test_training_job_runs_through_the_worker_and_its_output_becomes_a_model(
        owner, project, trainer, tmp_path):
    node = local_node(tmp_path)
    ready(project)
    secret_set(project=project, name="WANDB_API_KEY", value="s3cret-wandb-value", actor=None)
    reviews = resource_services.dataset_create_from_upload(
        project=project, name="Reviews", created_by=owner,
        files=[SimpleUploadedFile("reviews.csv", b"text,label\na,1\nb,0\n")])
    job = make_job(project, trainer, name="sentiment", command=TRAIN, env={"EPOCHS": "3"},
                   input_datasets=[reviews], output_type="model")
    services.job_start(job=job, actor=trainer)
    assert status_of(job) == JobStatus.STARTING  # queued for the worker

    run_worker()

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, job.status_reason
    assert (job.node, job.exit_code) == (node, 0)
    assert job.started_at and job.ended_at and job.ended_at >= job.started_at
    assert list(job.events.values_list("status", flat=True)) == ["new", "starting", "running", "finished"]
    run = job.runs.get()
    assert run.ended_at is not None and run.started_by == trainer and run.gpu_count == 1
    tail = selectors.job_log_tail(job=job)
    assert "epoch 1 rows 3" in tail and "epochs 3 cuda ''" in tail and "done" in tail
    assert "s3cret-wandb-value" not in tail and "token is ***" in tail  # secrets never served
    model = MLModel.objects.get(source_job=job)
    assert (model.project, model.created_by, model.status) == (project, trainer, "ready")
    assert list(model.files.values_list("path", flat=True)) == ["weights.txt"]
    with pytest.raises(PermissionDenied):  # read-only on models: cannot rename or delete it
        resource_services.resource_rename(resource=model, name="mine", actor=trainer)
    assert not Reservation.objects.exists()  # GPUs freed
    workspace = services.workspace_path(job)
    assert (workspace / "output" / "weights.txt").read_text() == "w=42"
    copied = workspace / "input" / "datasets" / "reviews" / "reviews.csv"
    assert copied.read_bytes() == b"text,label\na,1\nb,0\n"
    assert copied.stat().st_mode & 0o777 == 0o444  # inputs are read-only
    assert copied.parent.stat().st_mode & 0o777 == 0o555


def test_failing_command_ends_failed_with_its_exit_code_and_log(owner, project, tmp_path):
    local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, command="echo before the failure\nexit 3\necho never")
    services.job_start(job=job, actor=owner)
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.exit_code) == (JobStatus.FAILED, 3)
    assert job.status_reason == "The command exited with code 3."
    tail = selectors.job_log_tail(job=job)
    assert "before the failure" in tail and "never" not in tail
    assert not Reservation.objects.exists()


def test_stop_ends_a_long_running_command_within_seconds(owner, project, tmp_path, settings):
    settings.TRAINSHED_JOB_KILL_GRACE_SECONDS = 1
    local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, command=f"{PY} -c \"import time; print('working', flush=True); "
                                           "time.sleep(120)\"")
    services.job_start(job=job, actor=owner)
    worker = RunnerThread()
    worker.start()
    try:
        wait_for(lambda: status_of(job) == JobStatus.RUNNING)
        wait_for(lambda: "working" in selectors.job_log_tail(job=job))
        services.job_stop(job=Job.objects.get(pk=job.pk), actor=None, reason="out of credits")
        wait_for(lambda: status_of(job) == JobStatus.STOPPED, timeout=10)
    finally:
        worker.stop()
    job.refresh_from_db()
    assert job.status_reason == "out of credits" and job.ended_at is not None
    assert job.runs.get().ended_at is not None
    assert not Reservation.objects.exists()
    assert "Stopping: out of credits." in selectors.job_log_tail(job=job)


@pytest.fixture
def fake_jupyter(settings):
    settings.TRAINSHED_JUPYTER_COMMAND = f"{PY} {FAKE_JUPYTER}"


def test_notebook_opens_with_its_token_for_a_read_member_and_starts_again(
        client, owner, project, member_read, tmp_path, fake_jupyter):
    local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, type="notebook", command="", name="explore")
    services.job_start(job=job, actor=owner)
    worker = RunnerThread()
    worker.start()
    try:
        wait_for(lambda: "listening" in selectors.job_log_tail(job=Job.objects.get(pk=job.pk)))
        job.refresh_from_db()
        url = selectors.job_url(job=job)
        assert url == f"http://127.0.0.1:{job.port}/lab?token={job.token}" and len(job.token) > 20
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
            assert answer.status == 200 and b"welcome" in answer.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url.replace(job.token, "wrong"), timeout=5)  # noqa: S310
        assert refused.value.code == 403

        client.force_login(member_read)  # read access opens (and so edits) the notebook
        session = client.session
        session[SESSION_KEY] = str(project.pk)
        session.save()
        page = client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
        assert reverse("resources:job-open", args=[job.pk]) in page
        assert "job-stop" not in page and ">Stop<" not in page and ">Remove<" not in page
        response = client.get(reverse("resources:job-open", args=[job.pk]))
        assert response.status_code == 302 and response["Location"] == url

        services.job_stop(job=job, actor=owner)
        wait_for(lambda: status_of(job) == JobStatus.STOPPED, timeout=10)
        services.job_start(job=Job.objects.get(pk=job.pk), actor=owner)  # notebooks start again
        wait_for(lambda: status_of(job) == JobStatus.RUNNING)
        job.refresh_from_db()
        assert job.runs.count() == 2
        services.job_stop(job=job, actor=owner)
        wait_for(lambda: status_of(job) == JobStatus.STOPPED, timeout=10)
    finally:
        worker.stop()
    assert client.get(reverse("resources:job-open", args=[job.pk])).status_code == 404


@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is not None, reason="jupyterlab is installed")
def test_notebook_without_jupyterlab_fails_with_a_clear_reason(owner, project, tmp_path):
    local_node(tmp_path)
    ready(project)
    job = make_job(project, owner, type="notebook", command="")
    services.job_start(job=job, actor=owner)
    run_worker()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "JupyterLab is not installed" in job.status_reason
    assert not Reservation.objects.exists()


def test_endpoint_serves_on_its_port_and_the_page_shows_the_url(client, owner, project, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    local_node(tmp_path)
    ready(project)
    (tmp_path / "hello.txt").write_text("hello")
    job = make_job(project, owner, type="endpoint", port=port, name="api",
                   command=f"echo serving\n{PY} -m http.server $PORT --bind 127.0.0.1")
    services.job_start(job=job, actor=owner)
    worker = RunnerThread()
    worker.start()
    try:
        wait_for(lambda: status_of(job) == JobStatus.RUNNING)
        job.refresh_from_db()
        url = f"http://127.0.0.1:{port}/"
        assert selectors.job_url(job=job) == url

        def answers():
            try:
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
                    return r.status == 200
            except OSError:
                return False

        wait_for(answers)
        client.force_login(owner)
        session = client.session
        session[SESSION_KEY] = str(project.pk)
        session.save()
        assert url in client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
        services.job_stop(job=job, actor=owner)
        wait_for(lambda: status_of(job) == JobStatus.STOPPED, timeout=10)
    finally:
        worker.stop()


def test_a_job_whose_files_outgrow_its_disk_size_is_stopped_with_the_reason(owner, project, tmp_path, settings):
    settings.TRAINSHED_JOB_DISK_CHECK_SECONDS = 0.2
    settings.TRAINSHED_JOB_KILL_GRACE_SECONDS = 1
    local_node(tmp_path)
    ready(project)
    # A sparse file: 1.2 GB of apparent size without writing it (the check counts apparent sizes).
    job = make_job(project, owner, disk_gb=1, command="truncate -s 1200MB output/big.bin\nsleep 120")
    services.job_start(job=job, actor=owner)
    worker = RunnerThread()
    worker.start()
    try:
        wait_for(lambda: status_of(job) == JobStatus.FAILED, timeout=20)
    finally:
        worker.stop()
    job.refresh_from_db()
    assert job.status_reason == "The job's files reached 1.2 GB, over its disk size of 1 GB."
    assert "over its disk size of 1 GB. It was stopped." in selectors.job_log_tail(job=job)
    assert job.runs.get().ended_at is not None and not Reservation.objects.exists()


def test_workspace_bytes_counts_files_in_every_folder_and_not_what_links_point_to(tmp_path):
    from resources.jobs.runner import workspace_bytes

    (tmp_path / "input" / "datasets" / "d").mkdir(parents=True)
    (tmp_path / "input" / "datasets" / "d" / "a.csv").write_bytes(b"x" * 1000)
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "model.bin").write_bytes(b"y" * 234)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.bin"
    outside.write_bytes(b"z" * 10_000)
    (tmp_path / "output" / "link.bin").symlink_to(outside)
    assert workspace_bytes(tmp_path) == 1234
    assert workspace_bytes(tmp_path / "missing") == 0
