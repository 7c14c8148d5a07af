"""The person who started a job is told how it ended (finished or failed), once per ending."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notice, NoticeKind
from resources.jobs import services
from resources.models import JobStatus
from tests.jobs_helpers import local_node, make_job, ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(tmp_path, project):
    n = local_node(tmp_path, gpus=2)
    ready(project)
    return n


def _run(job, actor, *, status, reason="", capture):
    with capture(execute=True):
        services.job_start(job=job, actor=actor)
        job.refresh_from_db()
        services.run_claim_next(node=job.node)
        services.run_end(job=job, status=status, reason=reason)
        # The agent reporting the same end again changes nothing and tells nobody again.
        services.run_end(job=job, status=status, reason=reason)


def test_the_member_who_started_it_hears_it_finished(project, owner, member_all, node,
                                                     django_capture_on_commit_callbacks):
    job = make_job(project, member_all, name="resnet")
    mail.outbox.clear()
    _run(job, member_all, status=JobStatus.FINISHED, capture=django_capture_on_commit_callbacks)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["all@example.com"], "[Trainshed] Your job resnet finished (Vision Research)")]
    assert f"http://127.0.0.1:8000{reverse('resources:job-detail', args=[job.pk])}" in mail.outbox[0].body
    assert not Notice.objects.filter(user=owner, kind=NoticeKind.JOB_ENDED).exists()


def test_a_failure_says_why_and_a_stop_says_nothing(project, owner, node, django_capture_on_commit_callbacks):
    failing = make_job(project, owner, name="broken")
    _run(failing, owner, status=JobStatus.FAILED, reason="exit code 3",
         capture=django_capture_on_commit_callbacks)
    notice = Notice.objects.get(user=owner, kind=NoticeKind.JOB_ENDED)
    assert notice.subject == "Your job broken failed (Vision Research)" and notice.text == "exit code 3"
    assert "exit code 3" in mail.outbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        stopped = make_job(project, owner, name="stopme")
        services.job_start(job=stopped, actor=owner)
        services.job_stop(job=stopped, actor=owner)
    assert Notice.objects.filter(user=owner, kind=NoticeKind.JOB_ENDED).count() == 1


def test_a_notebook_started_twice_is_told_each_time(project, owner, node, django_capture_on_commit_callbacks):
    notebook = make_job(project, owner, name="nb", type="notebook", command="")
    _run(notebook, owner, status=JobStatus.FAILED, reason="kernel died",
         capture=django_capture_on_commit_callbacks)
    notebook.refresh_from_db()
    _run(notebook, owner, status=JobStatus.FAILED, reason="kernel died",
         capture=django_capture_on_commit_callbacks)
    assert Notice.objects.filter(user=owner, kind=NoticeKind.JOB_ENDED).count() == 2
