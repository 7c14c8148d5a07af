"""A person watches a running job's page in a real browser: new lines appear in the log as they
are stored (the log's own 0.5 s poll), each once, while the page's 1 s poll leaves the log alone;
when the job ends the page shows its log as for any ended job, and both polls stop."""

import re

import pytest
from django.utils import timezone

from resources.jobs import services
from resources.models import Job, JobStatus
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory, make_node
from tests.jobs_helpers import make_job, ready, seed_gpu_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _append(job, seq, numbers):
    services.run_log_append(job=job, seq=seq, text="".join(f"tick {n}\n" for n in numbers),
                            redact=lambda t: t)


def test_new_lines_show_once_as_they_come_and_the_polls_stop_at_the_end(live_server, page):
    seed_gpu_types()
    owner = UserFactory(email="watcher@example.com")
    make_node(gpu_type="cpu", gpus=2)
    from projects.models import Project

    project = ready(Project.objects.personal_of(owner))
    job = make_job(project, owner, name="ticking")
    _append(job, 1, range(1, 4))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())

    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.wait_for_selector("#job-log:has-text('tick 3')")
    for seq, numbers in ((2, range(4, 6)), (3, range(6, 9))):
        _append(job, seq, numbers)
        page.wait_for_selector(f"#job-log:has-text('tick {numbers[-1]}')", timeout=3000)
    page.wait_for_timeout(2500)  # the page's own polls come and go
    text = page.locator("#job-log").inner_text()
    assert [int(n) for n in re.findall(r"tick (\d+)", text)] == list(range(1, 9))
    assert "All 8 lines." in page.locator("[data-log-extent]").inner_text()

    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED, ended_at=timezone.now())
    page.wait_for_selector("#job-log-live:not([hx-preserve])", timeout=5000)
    page.wait_for_timeout(1500)
    assert page.locator("#job-log-poll").count() == 0
    text = page.locator("#job-log").inner_text()
    assert [int(n) for n in re.findall(r"tick (\d+)", text)] == list(range(1, 9))
