"""The job page's live log: while the job runs, the page polls its log every 0.5 s from the byte
offset it shows and appends what is new (secrets redacted) before a marker of that offset; a poll
with nothing new reads no chunk, so it costs the same at any log length. The page's own 1 s poll
leaves the log as it is (hx-preserve) and does not read it; once the job ended both polls stop and
the page shows the log as for any ended job."""

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.keys import secret_set
from resources.jobs import services
from resources.models import Job, JobStatus
from tests.factories import make_node
from tests.jobs_helpers import make_job, ready, seed_gpu_types


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


@pytest.fixture
def browser(client, owner, project):
    client.force_login(owner)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    return client


def _running(project, owner, lines: int) -> Job:
    make_node(gpu_type="cpu", gpus=2)
    ready(project)
    job = make_job(project, owner, name="live")
    secret_set(project=project, name="MY_TOKEN", value="hf-very-secret", actor=None)
    for seq, first in enumerate(range(0, lines, 100), start=1):
        _append(job, seq, range(first + 1, min(first + 100, lines) + 1))
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    job.refresh_from_db()
    return job


def _append(job, seq, numbers):
    text = "".join(f"line {n} hf-very-secret\n" for n in numbers)
    services.run_log_append(job=job, seq=seq, text=text, redact=lambda t: t)


def _poll_url(text: str) -> str | None:
    found = re.search(r'id="job-log-poll" hidden hx-get="([^"]+)"', text)
    return html.unescape(found.group(1)) if found else None


def test_a_running_jobs_page_appends_only_the_new_lines_at_the_offset_it_shows(browser, project, owner):
    job = _running(project, owner, lines=30)
    page = browser.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert "line 30 ***" in page and "hf-very-secret" not in page
    url = _poll_url(page)
    assert url == f"{reverse('resources:job-log-part', args=[job.pk])}?since={job.log_bytes}&shown=30"
    assert f'<span id="job-log-at-{job.log_bytes}"></span>' in page

    nothing = browser.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "line" not in nothing and _poll_url(nothing) == url

    _append(job, 2, range(31, 34))
    job.refresh_from_db()
    news = browser.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "line 31 ***" in news and "line 33 ***" in news and "line 30 " not in news
    assert "hf-very-secret" not in news
    since = url.split("since=")[1].split("&")[0]
    assert f'hx-swap-oob="beforebegin:#job-log-at-{since}"' in news
    assert f'<span id="job-log-at-{job.log_bytes}" hx-swap-oob="outerHTML:#job-log-at-{since}"></span>' in news
    assert "All 33 lines." in news
    assert _poll_url(news) == f"{reverse('resources:job-log-part', args=[job.pk])}?since={job.log_bytes}&shown=33"


def test_the_pages_own_poll_leaves_the_live_log_alone_and_it_stops_when_the_job_ended(browser, project, owner):
    job = _running(project, owner, lines=30)
    live = browser.get(reverse("resources:job-detail", args=[job.pk]), headers={"HX-Request": "true"})
    text = live.content.decode()
    assert '<div id="job-log-live" hx-preserve="true">' in text and "line 30" not in text

    url = _poll_url(browser.get(reverse("resources:job-detail", args=[job.pk])).content.decode())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED)
    last = browser.get(url, headers={"HX-Request": "true"}).content.decode()
    assert _poll_url(last) is None
    ended = browser.get(reverse("resources:job-detail", args=[job.pk]), headers={"HX-Request": "true"})
    text = ended.content.decode()
    assert "hx-preserve" not in text and "line 30 ***" in text and "All 30 lines." in text
    assert _poll_url(text) is None


def test_a_page_that_showed_nothing_yet_gets_the_log_whole(browser, project, owner):
    job = _running(project, owner, lines=0)
    page = browser.get(reverse("resources:job-detail", args=[job.pk])).content.decode()
    assert "(no output yet)" in page
    url = _poll_url(page)
    _append(job, 1, range(1, 4))
    news = browser.get(url, headers={"HX-Request": "true"}).content.decode()
    assert '<pre class="job-log" id="job-log" tabindex="0" hx-swap-oob="true">' in news
    assert "line 3 ***" in news and "(no output yet)" not in news


@pytest.mark.parametrize("lines", [30, 3000])
def test_a_live_poll_costs_what_is_new_not_what_exists(browser, project, owner, lines,
                                                      django_assert_num_queries):
    job = _running(project, owner, lines=lines)
    url = _poll_url(browser.get(reverse("resources:job-detail", args=[job.pk])).content.decode())
    # the session, the person, their access to the job's project, the job (no chunk: nothing new)
    with django_assert_num_queries(5):
        assert browser.get(url, headers={"HX-Request": "true"}).status_code == 200
    _append(job, (lines + 99) // 100 + 1, range(lines + 1, lines + 4))
    with django_assert_num_queries(6):  # and the new chunks
        news = browser.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f"line {lines + 3} ***" in news and f"line {lines} " not in news
