"""Jobs in the Django admin: listed, searched and filtered, shown with their runs and events,
never edited; an operator's "stop" action stops them through the stop service and the project's
audit log names the operator."""

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import AuditEvent
from resources.models import Job, JobRun, JobStatus
from tests.factories import make_node
from tests.jobs_helpers import make_job, ready


@pytest.fixture
def jobs(project, owner):
    node = make_node(gpu_type="cpu", gpus=2, name="box-one")
    ready(project)
    waiting = make_job(project, owner, name="waiting-job")
    Job.objects.filter(pk=waiting.pk).update(status=JobStatus.WAITING)
    running = make_job(project, owner, name="running-job")
    now = timezone.now()
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING, node=node, started_at=now,
                                             last_heartbeat=now)
    JobRun.objects.create(job=running, started_at=now, gpu_type=running.gpu_type, gpu_count=1, node=node,
                          started_by=owner)
    done = make_job(project, owner, name="done-job")
    Job.objects.filter(pk=done.pk).update(status=JobStatus.FINISHED)
    return waiting, running, done


def test_jobs_are_listed_searched_filtered_and_shown_read_only(admin_client, jobs):
    waiting, running, _done = jobs
    listing = admin_client.get(reverse("admin:resources_job_changelist"), {"q": "running"})
    assert listing.status_code == 200
    assert "running-job" in listing.content.decode() and "waiting-job" not in listing.content.decode()
    filtered = admin_client.get(reverse("admin:resources_job_changelist"), {"status__exact": "waiting"})
    assert "waiting-job" in filtered.content.decode() and "running-job" not in filtered.content.decode()

    change = admin_client.get(reverse("admin:resources_job_change", args=[running.pk])).content.decode()
    assert "box-one" in change and "Vision Research" in change
    assert "Job runs" in change and "Job events" in change and "Created" in change
    assert 'name="_save"' not in change  # nothing to save: read-only
    assert admin_client.get(reverse("admin:resources_job_add")).status_code == 403


def test_operator_stop_action_goes_through_the_service_and_is_audited(admin_client, admin_user, project,
                                                                       jobs):
    waiting, running, done = jobs
    response = admin_client.post(reverse("admin:resources_job_changelist"), {
        "action": "stop_jobs", "index": 0, "_selected_action": [str(waiting.pk), str(running.pk), str(done.pk)]},
        follow=True)

    page = response.content.decode()
    assert "Stopping 2 job(s)." in page and "one-job: The job is not running (it is finished)." in page
    waiting.refresh_from_db()
    running.refresh_from_db()
    assert waiting.status == JobStatus.STOPPED
    assert waiting.status_reason == f"Stopped by an operator ({admin_user.email})"
    assert running.status == JobStatus.RUNNING and running.stop_requested_at is not None
    audit = AuditEvent.objects.filter(project=project, action="job.stopped_by_operator")
    assert sorted(audit.values_list("target", "actor__email")) == [
        ("running-job", admin_user.email), ("waiting-job", admin_user.email)]
