"""Jobs without a worker: the form's field errors, scoping, buttons, placement, the reaper,
stop/remove rules, and what other apps are refused while a job runs."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from billing.services import NO_CREDITS_OWNER
from compute.models import ComputeNode, GpuType, Reservation
from compute.services import placement_release, placement_reserve
from projects.forms import ACTIVE_PROJECT_FIELD
from projects.keys import secret_set
from projects.services import project_delete
from resources import services as resource_services
from resources.jobs import services
from resources.jobs.views import PAGE_SIZE
from resources.models import Job, JobLogChunk, JobRun, JobStatus
from tests.factories import ProjectFactory, UserFactory, make_node, sign_in_to
from tests.jobs_helpers import local_node, make_job, ready


def _form(project, **overrides):
    data = {"name": "train", "type": "training", "gpu_type": "cpu", "gpu_count": 1, "disk_gb": 20,
            "command": "python train.py", "env": "", "output_type": "none",
            ACTIVE_PROJECT_FIELD: str(project.pk)}
    data.update(overrides)
    return data


def _running(job, *, node, beat=None):
    """What the runner leaves behind for a running job (its reservation included)."""
    now = timezone.now()
    placement_reserve(project=job.project, gpu_type=job.gpu_type, gpu_count=job.gpu_count,
                      holder=job.holder)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, node=node, started_at=now,
                                         last_heartbeat=beat or now)
    JobRun.objects.create(job=job, started_at=now, last_heartbeat=beat or now, node=node,
                          gpu_type=job.gpu_type, gpu_count=job.gpu_count)
    job.refresh_from_db()
    return job


@pytest.fixture
def node(tmp_path, project):
    n = local_node(tmp_path, gpus=2)
    ready(project)
    return n


# ---- create: field errors --------------------------------------------------------------------


def test_create_then_start_from_the_form(client, owner, project, node, django_capture_on_commit_callbacks):
    sign_in_to(client, owner, project)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("resources:job-create"),
                               _form(project, env="EPOCHS=3\n# comment\nLR=0.1", start="1"))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("resources:job-detail",
                                                                           args=[job.pk])
    assert (job.status, job.node, job.env) == (JobStatus.STARTING, node, {"EPOCHS": "3", "LR": "0.1"})
    from django_tasks_db.models import DBTaskResult

    for callback in callbacks:
        callback()
    assert not DBTaskResult.objects.exists()  # no task: the node's agent claims the job itself


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"gpu_type": "h100"}, "gpu_type", "“h100” is not a GPU type this project may use"),
    ({"gpu_count": 3}, "gpu_count", "No CPU node this project may use has 3 GPUs; the largest has 2."),
    ({"command": "  "}, "command", "Enter the command to run."),
    ({"env": "lower=1"}, "env", "is not a valid variable name"),
    ({"env": "CUDA_VISIBLE_DEVICES=1"}, "env", "is set by Trainshed"),
    ({"type": "endpoint"}, "port", "Give the port the endpoint serves on"),
    ({"type": "notebook", "output_type": "model", "command": ""}, "output_type",
     "Only training and inference jobs save their output as a model."),
])
def test_bad_input_is_a_field_error_and_creates_nothing(client, owner, project, node, overrides, field,
                                                        message):
    sign_in_to(client, owner, project)
    response = client.post(reverse("resources:job-create"), _form(project, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not Job.objects.exists()


def test_a_dataset_of_another_project_is_a_field_error(client, owner, project, node, outsider):
    other = ProjectFactory(owner=outsider, name="Elsewhere")
    theirs = resource_services.dataset_create_from_upload(
        project=other, name="Theirs", created_by=outsider, files=[SimpleUploadedFile("a.csv", b"a\n")])
    sign_in_to(client, owner, project)
    response = client.post(reverse("resources:job-create"),
                           _form(project, input_datasets=[str(theirs.pk)]))
    assert "is not a ready dataset of this project" in " ".join(
        response.context["form"].errors["input_datasets"])
    with pytest.raises(ValidationError) as refused:  # the service says the same to the API
        make_job(project, owner, input_datasets=[theirs.pk])
    assert "input_datasets" in refused.value.message_dict
    assert not Job.objects.exists()


# ---- scoping, buttons, list --------------------------------------------------------------------


def test_another_projects_job_is_a_404(client, owner, project, node, outsider):
    job = make_job(project, owner)
    sign_in_to(client, outsider, ProjectFactory(owner=outsider, name="Mine"))
    for name in ("job-detail", "job-log", "job-remove"):
        assert client.get(reverse(f"resources:{name}", args=[job.pk])).status_code == 404
    for name in ("job-start", "job-stop", "job-remove"):
        assert client.post(reverse(f"resources:{name}", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.NEW and job.removed_at is None


def test_read_member_sees_no_buttons_and_cannot_start(client, owner, project, node, member_read):
    job = make_job(project, owner, name="visible")
    sign_in_to(client, member_read, project)
    listing = client.get(reverse("resources:job-list")).content.decode()
    assert "visible" in listing and "New job" not in listing
    page = client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert ">Start<" not in page and "Remove" not in page
    assert client.post(reverse("resources:job-start", args=[job.pk])).status_code == 403
    assert client.get(reverse("resources:job-create")).status_code == 403
    sign_in_to(client, owner, project)
    page = client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert ">Start<" in page and "Remove" in page


@pytest.mark.parametrize("count", [10, 1000])
def test_job_list_runs_the_same_queries_at_10_and_1000_jobs(client, owner, project, node, count,
                                                            django_assert_num_queries):
    cpu = GpuType.objects.get(slug="cpu")
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    # Finished jobs as the runner leaves them: one ended run each, its GPU time kept on the job.
    jobs = Job.objects.bulk_create([Job(project=project, name=f"job {i}", gpu_type=cpu, command="x",
                                        created_by=owner, node=node, status="finished", started_at=hour_ago,
                                        ended_at=now, ended_gpu_seconds=2 * 3600) for i in range(count)])
    JobRun.objects.bulk_create([JobRun(job=j, started_at=hour_ago, ended_at=now, gpu_type=cpu, gpu_count=2)
                                for j in jobs])
    sign_in_to(client, owner, project)
    client.get(reverse("resources:job-list"))  # warm the session / permission caches
    with django_assert_num_queries(QUERIES):
        response = client.get(reverse("resources:job-list"))
    page = response.content.decode()
    assert response.status_code == 200 and page.count("data-job=") == min(count, PAGE_SIZE)
    assert page.count("<td>2.000</td>") == min(count, PAGE_SIZE)  # GPU-hours: 2 GPUs for one hour
    assert (f"Jobs 1–{PAGE_SIZE}" in page and "Next →" in page) if count > PAGE_SIZE else "Next →" not in page


# session, user, project with permissions and whether there is another project (the header's
# switcher), the jobs: no runs (a job keeps its GPU time), not per job, no COUNT(*)
QUERIES = 4


def _claimed(job, *, hours_ago: float):
    """Started and claimed through the services as its node's agent does, its run then moved
    `hours_ago` into the past."""
    services.job_start(job=job, actor=job.created_by)
    job.refresh_from_db()
    job = services.run_claim_next(node=job.node)
    then = timezone.now() - timedelta(hours=hours_ago)
    Job.objects.filter(pk=job.pk).update(started_at=then)
    JobRun.objects.filter(job=job, ended_at__isnull=True).update(started_at=then)
    job.refresh_from_db()
    return job


def _gpu_hours_shown(client, job) -> str:
    page = client.get(reverse("resources:job-list")).content.decode()
    row = page[page.index(f'data-job="{job.pk}"'):]
    return row[:row.index("</tr>")].split("<td>")[6].removesuffix("</td>")


def test_a_jobs_gpu_time_is_its_ended_runs_plus_the_running_one(client, owner, project, node):
    job = _claimed(make_job(project, owner, type="notebook", gpu_count=2, name="nb"), hours_ago=1)
    sign_in_to(client, owner, project)
    # running: 2 GPUs for an hour so far (and the seconds this test took, on a slow machine)
    assert 2.0 <= float(_gpu_hours_shown(client, job)) < 2.01
    services.run_end(job=job, status=JobStatus.STOPPED)
    job.refresh_from_db()
    assert job.ended_gpu_seconds == pytest.approx(2 * 3600, abs=5)
    # Started again for half an hour: the new run adds to the first.
    job = _claimed(job, hours_ago=0.5)
    assert 3.0 <= float(_gpu_hours_shown(client, job)) < 3.01
    services.run_end(job=job, status=JobStatus.STOPPED)
    job.refresh_from_db()
    assert job.ended_gpu_seconds == pytest.approx(3 * 3600, abs=10)
    runs = job.runs.all()
    assert len(runs) == 2 and job.ended_gpu_seconds == pytest.approx(
        sum((r.ended_at - r.started_at).total_seconds() * r.gpu_count for r in runs))
    assert 3.0 <= float(_gpu_hours_shown(client, job)) < 3.01  # stopped: no more counting


def test_a_reaped_jobs_gpu_time_ends_at_its_last_heartbeat(owner, project, node, settings):
    settings.TRAINSHED_JOB_STALE_SECONDS = 60
    job = _claimed(make_job(project, owner, gpu_count=2), hours_ago=1)
    beat = timezone.now() - timedelta(minutes=30)  # its worker died half an hour ago
    Job.objects.filter(pk=job.pk).update(last_heartbeat=beat)
    assert services.jobs_reap() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.gpu_seconds() == pytest.approx(2 * 1800, abs=5)


def test_log_download_and_tail_hide_secrets(client, owner, project, node):
    secret_set(project=project, name="HF_SECRET", value="hf-very-secret-1", actor=None)
    job = make_job(project, owner)
    JobLogChunk.objects.create(job=job, seq=1, text="loading with hf-very-secret-1\nstep 1\n")
    sign_in_to(client, owner, project)
    page = client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert "loading with ***" in page and "hf-very-secret-1" not in page
    response = client.get(reverse("resources:job-log", args=[job.pk]))
    body = b"".join(response.streaming_content).decode()
    assert body == "loading with ***\nstep 1\n"
    assert response["Content-Disposition"] == 'attachment; filename="job.log"'


# ---- placement, stop, reaper, remove ---------------------------------------------------------


def test_a_job_waits_for_resources_and_starts_when_gpus_free(owner, project, node,
                                                           django_capture_on_commit_callbacks):
    placement_reserve(project=project, gpu_type="cpu", gpu_count=2, holder="someone-else")
    job = make_job(project, owner)
    services.job_start(job=job, actor=owner)
    job.refresh_from_db()
    assert (job.status, job.status_reason) == (JobStatus.WAITING, "Waiting for a node with free GPUs and disk.")
    with django_capture_on_commit_callbacks(execute=True):
        placement_release(holder="someone-else")
    job.refresh_from_db()
    assert (job.status, job.node) == (JobStatus.STARTING, node)
    assert list(job.events.values_list("status", flat=True)) == ["new", "waiting", "starting"]


def test_start_without_credits_is_refused_with_the_reason(project, node):
    broke = UserFactory(credits=0)
    poor = ProjectFactory(owner=broke, name="Poor")
    ready(poor)
    job = make_job(poor, broke)
    with pytest.raises(ValidationError) as refused:
        services.job_start(job=job, actor=broke)
    assert refused.value.messages == [NO_CREDITS_OWNER]  # said to the owner: their own account
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW


def test_system_stop_of_a_waiting_job_shows_the_reason(client, owner, project, node):
    placement_reserve(project=project, gpu_type="cpu", gpu_count=2, holder="someone-else")
    job = make_job(project, owner)
    services.job_start(job=job, actor=owner)
    services.job_stop(job=job, actor=None, reason="out of credits")
    job.refresh_from_db()
    assert (job.status, job.status_reason) == (JobStatus.STOPPED, "out of credits")
    sign_in_to(client, owner, project)
    assert "out of credits" in client.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert job.can_start  # it never ran: it may be started again


def test_stopping_a_running_job_asks_its_runner(owner, project, node):
    job = _running(make_job(project, owner), node=node)
    services.job_stop(job=job, actor=owner)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.stop_requested_at is not None
    assert job.status_reason == "Stopped by owner@example.com"
    assert services.run_should_stop(job=job) == (True, JobStatus.RUNNING)


def test_the_reaper_fails_a_job_whose_heartbeat_is_stale_and_frees_its_gpus(owner, project, node, settings):
    settings.TRAINSHED_JOB_STALE_SECONDS = 60
    stale = _running(make_job(project, owner, name="stale"), node=node,
                     beat=timezone.now() - timedelta(minutes=5))
    fresh = _running(make_job(project, owner, name="fresh"), node=node)
    assert services.jobs_reap() == 1
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED
    assert "stopped sending heartbeats" in stale.status_reason
    assert stale.ended_at == stale.last_heartbeat and stale.runs.get().ended_at == stale.last_heartbeat
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.RUNNING
    assert list(Reservation.objects.values_list("holder", flat=True)) == [fresh.holder]


def test_removing_a_running_job_stops_it_first_and_hides_it(client, owner, project, node):
    job = _running(make_job(project, owner, name="doomed"), node=node)
    sign_in_to(client, owner, project)
    response = client.post(reverse("resources:job-remove", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.removed_at is not None and job.stop_requested_at is not None
    client.get(reverse("resources:job-list"))  # shows the message once
    assert "doomed" not in client.get(reverse("resources:job-list")).content.decode()
    assert client.get(reverse("resources:job-detail", args=[job.pk])).status_code == 404


def test_a_running_job_keeps_its_dataset_and_its_project(owner, project, node):
    data = resource_services.dataset_create_from_upload(
        project=project, name="Inputs", created_by=owner, files=[SimpleUploadedFile("a.csv", b"a\n")])
    job = _running(make_job(project, owner, name="busy", input_datasets=[data]), node=node)
    with pytest.raises(ValidationError, match="A running job uses this dataset: busy"):
        resource_services.resource_delete(resource=data, actor=owner)
    with pytest.raises(ValidationError, match="A job of this project is running"):
        project_delete(project=project, actor=owner)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED)
    resource_services.resource_delete(resource=data, actor=owner)


def test_a_notebook_s_jupyter_token_is_not_in_its_arguments(tmp_path):
    """JupyterLab reads its token from the environment the agent gives it; `ps` shows none."""
    from trainshed.agent.jobs import JobRun, Settings

    spec = {"job_id": "1b2c", "type": "notebook", "command": "", "env": {}, "files": {}, "inputs": [],
            "gpu_indices": [], "disk_gb": 1, "port": None, "output_model": False}
    run = JobRun(spec, control=None, settings=Settings(workdir=tmp_path, jupyter_command="jupyter-lab"),
                 agent_stopping=None, can_sandbox=True)
    argv = run.argv()
    assert run.notebook_token and run.notebook_token not in " ".join(argv)
    assert "--ServerApp.base_url=/notebook/1b2c/" in argv[-1]
    assert run.sandbox_spec().env["JUPYTER_TOKEN"] == run.notebook_token


def test_compute_page_names_the_job_running_on_a_node(client, owner, project, tmp_path):
    from django.urls import reverse

    from tests.jobs_helpers import local_node, make_job, ready, seed_gpu_types

    seed_gpu_types()
    local_node(tmp_path, owner=owner, name="my-box")
    ready(project)
    job = make_job(project, owner, name="nightly-train", command="sleep 60")
    services.job_start(job=job, actor=owner)
    client.force_login(owner)
    page = client.get(reverse("compute:node-list")).content.decode()
    assert "Training job “nightly-train”" in page


def test_inputs_larger_than_the_disk_size_are_a_field_error(owner, project, node):
    from resources.models import Dataset, StoredStatus

    big = Dataset.objects.create(project=project, name="Corpus", status=StoredStatus.READY,
                                 size_bytes=30_200_000_000, file_count=1, created_by=owner)
    with pytest.raises(ValidationError) as refused:
        make_job(project, owner, disk_gb=20, input_datasets=[big])
    assert refused.value.message_dict == {
        "disk_gb": ["The inputs take 30.2 GB of the job's disk: choose at least 31 GB."]}
    assert not Job.objects.exists()
    assert make_job(project, owner, disk_gb=31, input_datasets=[big]).disk_gb == 31


def test_a_job_waits_while_no_node_has_its_disk_free(owner, project, tmp_path):
    node = local_node(tmp_path, gpus=2)
    ready(project)
    ComputeNode.objects.filter(pk=node.pk).update(storage_free_bytes=10 * 10**9)  # 10 GB free
    job = make_job(project, owner, disk_gb=20)
    services.job_start(job=job, actor=owner)
    job.refresh_from_db()
    assert (job.status, job.status_reason) == (JobStatus.WAITING, "Waiting for a node with free GPUs and disk.")
    assert job.events.last().message == "No CPU node has 1 free GPU(s) and 20 GB of free disk now."
    ComputeNode.objects.filter(pk=node.pk).update(storage_free_bytes=30 * 10**9)
    assert services.jobs_place_waiting() == 1
    assert Job.objects.get(pk=job.pk).status == JobStatus.STARTING


def test_a_disk_size_no_node_could_ever_hold_is_a_field_error(owner, project, tmp_path):
    local_node(tmp_path, gpus=2)  # 1,000 GB of storage
    ready(project)
    with pytest.raises(ValidationError) as refused:
        make_job(project, owner, disk_gb=1500)
    assert refused.value.message_dict == {
        "disk_gb": ["No CPU node this project may use has 1500 GB of storage; the largest has 1000 GB."]}
    make_node(gpu_type="cpu", gpus=2, storage=False)  # a node whose jobs write to the platform's disk
    assert make_job(project, owner, disk_gb=1500).disk_gb == 1500
