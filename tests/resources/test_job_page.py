"""The job page: credits charged so far beside GPU-hours (updated by the poll), which part of the
log it shows ("last 200 of N lines") with "load earlier" by byte offset, the whole log as a
download, and a start's flash message dropped by the poll once the job has moved on."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.accrual import accrue_compute
from compute.models import GpuType
from projects.keys import secret_set
from resources.jobs import services
from resources.models import Job, JobRun, JobStatus
from tests.factories import make_node
from tests.jobs_helpers import make_job, ready


@pytest.fixture
def page(client, owner, project):
    client.force_login(owner)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    return lambda job, **headers: client.get(reverse("resources:job-detail", args=[job.pk]), headers=headers)


def _running(project, owner, minutes):
    start = timezone.now() - timedelta(minutes=minutes)
    a100 = GpuType.objects.get(slug="a100")
    job = Job.objects.create(project=project, name="train", gpu_type=a100, gpu_count=1, command="x",
                             created_by=owner, status=JobStatus.RUNNING, started_at=start,
                             last_heartbeat=timezone.now())
    JobRun.objects.create(job=job, started_at=start, last_heartbeat=timezone.now(), started_by=owner,
                          gpu_type=a100, gpu_count=1)
    return job


def test_credits_charged_so_far_beside_gpu_hours_and_in_the_poll(page, project, owner):
    job = _running(project, owner, minutes=20)
    first = page(job).content.decode()
    assert "<dt>Credits</dt><dd data-credits>0.00" in first

    accrue_compute()  # 20 minutes of one a100 at 3.09/h = 1.03
    poll = page(job, **{"HX-Request": "true"}).content.decode()

    assert '<div id="job-live"' in poll and "<html" not in poll
    assert "<dd data-credits>1.03 <span" in poll and "charged so far" in poll
    assert "data-gpu-hours" in poll


def _with_log(project, owner, lines: int) -> Job:
    make_node(gpu_type="cpu", gpus=2)
    ready(project)
    job = make_job(project, owner, name="long")
    secret_set(project=project, name="MY_TOKEN", value="hf-very-secret", actor=None)
    redact = lambda text: text.replace("hf-very-secret", "***")  # noqa: E731
    for seq, first in enumerate(range(0, lines, 100), start=1):
        text = "".join(f"line {n} hf-very-secret\n" for n in range(first + 1, min(first + 100, lines) + 1))
        services.run_log_append(job=job, seq=seq, text=text, redact=redact)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED, started_at=timezone.now())
    job.refresh_from_db()
    return job


def test_the_log_says_which_part_it_shows_and_loads_earlier_lines(client, page, project, owner):
    job = _with_log(project, owner, lines=1050)
    html = page(job).content.decode()
    assert "Showing the last 200 of 1,050 lines." in html
    assert "line 851 ***" in html and "line 1050 ***" in html and "line 850 " not in html
    assert "hf-very-secret" not in html
    assert "850 lines before these" in html

    tail = job.log_bytes - len("".join(f"line {n} ***\n" for n in range(851, 1051)).encode())
    earlier = client.get(reverse("resources:job-log-part", args=[job.pk]), {"before": tail, "after": 200},
                         headers={"HX-Request": "true"}).content.decode()

    assert "line 651 ***" in earlier and "line 850 ***" in earlier
    assert "line 650 " not in earlier and "line 851 " not in earlier
    assert "650 lines before these" in earlier and "<html" not in earlier

    # Without JavaScript the link opens the same lines as a page of their own.
    plain = client.get(reverse("resources:job-log-part", args=[job.pk]), {"before": tail, "after": 200})
    assert plain.status_code == 200 and "line 651 ***" in plain.content.decode()
    assert "<html" in plain.content.decode()


def test_the_first_lines_say_nothing_is_left_and_the_download_is_whole(client, page, project, owner):
    job = _with_log(project, owner, lines=250)
    html = page(job).content.decode()
    assert "Showing the last 200 of 250 lines." in html and "50 lines before these" in html
    first = client.get(reverse("resources:job-log-part", args=[job.pk]),
                       {"before": len("".join(f"line {n} ***\n" for n in range(1, 51)).encode()),
                        "after": 200}, headers={"HX-Request": "true"}).content.decode()
    assert "line 1 ***" in first and "line 50 ***" in first and "Load earlier" not in first

    download = client.get(reverse("resources:job-log", args=[job.pk]))
    text = b"".join(download.streaming_content).decode()
    assert text.count("\n") == 250 and "hf-very-secret" not in text and text.startswith("line 1 ***")


def test_a_short_log_says_all_its_lines(page, project, owner):
    job = _with_log(project, owner, lines=3)
    html = page(job).content.decode()
    assert "All 3 lines." in html and "Load earlier" not in html


def test_a_start_message_is_dropped_by_the_poll_once_the_job_moved_on(client, page, project, owner):
    make_node(gpu_type="cpu", gpus=2)
    ready(project)
    job = make_job(project, owner, name="quick")
    started = client.post(reverse("resources:job-start", args=[job.pk]), follow=True).content.decode()
    assert 'class="flash flash-success job-start"' in started and "Starting quick." in started

    starting = page(job, **{"HX-Request": "true"}).content.decode()
    assert "hx-swap-oob" not in starting  # still starting: the message is still true

    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    running = page(job, **{"HX-Request": "true"}).content.decode()
    assert '<div hx-swap-oob="delete:#messages .job-start"></div>' in running


@pytest.mark.parametrize("lines", [30, 3000])
def test_the_job_page_and_a_log_part_cost_the_same_at_any_log_length(client, page, project, owner, lines,
                                                                     django_assert_max_num_queries):
    job = _with_log(project, owner, lines=lines)
    with django_assert_max_num_queries(22):
        assert page(job).status_code == 200
    with django_assert_max_num_queries(14):
        part = client.get(reverse("resources:job-log-part", args=[job.pk]), {"before": 200, "after": 0},
                          headers={"HX-Request": "true"})
    assert part.status_code == 200
