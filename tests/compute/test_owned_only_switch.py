"""Turning "only owned compute" on refreshes the project's GPU types at once (web and API), and
the settings page says what it does not move: datasets and models on public storage, jobs on
public nodes, with the owner's choice to stop those jobs or keep everything."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.api_keys import api_key_create
from compute.selectors import available_gpu_types
from projects.models import AuditEvent
from resources import services as resource_services
from resources.models import Job, JobStatus
from tests.factories import make_node
from tests.jobs_helpers import make_job, ready


@pytest.fixture
def nodes(project, owner):
    public = make_node(gpu_type="cpu", gpus=4, name="public-cpu")
    own = make_node(owner=owner, gpu_type="a100", gpus=2, name="my-a100")
    ready(project)
    return public, own


def _slugs(project):
    return sorted(t.slug for t in available_gpu_types(project=project))


def _turn_on(client, project, **headers):
    return client.post(reverse("compute:project-settings-update", args=[project.pk]),
                       {"owned_compute_only": "on"}, headers=headers)


def test_turning_it_on_refreshes_the_gpu_types_itself(client, owner, project, nodes):
    assert _slugs(project) == ["a100", "cpu"]
    client.force_login(owner)

    response = _turn_on(client, project, **{"HX-Request": "true"})

    html = response.content.decode()
    assert "Available GPU types refreshed: NVIDIA A100." in html and "refresh to apply" not in html
    assert _slugs(project) == ["a100"]
    assert "Refresh Available GPU Types" in html  # the button stays for later changes
    client.post(reverse("compute:project-settings-update", args=[project.pk]), {})
    assert _slugs(project) == ["a100", "cpu"]


def test_the_api_setting_refreshes_them_too(client, owner, project, nodes):
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}"}
    response = client.patch(f"/api/v1/projects/{project.pk}", data=json.dumps({"owned_compute_only": True}),
                            content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    assert _slugs(project) == ["a100"]


@pytest.fixture
def on_public(project, owner, nodes):
    public, _own = nodes
    dataset = resource_services.dataset_create_from_upload(
        project=project, name="reviews", created_by=owner, files=[SimpleUploadedFile("r.csv", b"a\n")])
    running = make_job(project, owner, name="long-train")
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING, node=public, started_at=timezone.now(),
                                             last_heartbeat=timezone.now())
    waiting = make_job(project, owner, name="queued")
    Job.objects.filter(pk=waiting.pk).update(status=JobStatus.WAITING)
    make_job(project, owner, name="not-started")  # new: nothing runs, not listed
    return dataset, running, waiting


def test_the_page_lists_what_stays_on_public_compute_and_stops_those_jobs(client, owner, project, on_public):
    dataset, running, waiting = on_public
    client.force_login(owner)
    settings_page = _turn_on(client, project, **{"HX-Request": "true"}).content.decode()
    section_url = reverse("resources:public-leftovers", args=[project.pk])
    assert f'hx-get="{section_url}"' in settings_page

    section = client.get(section_url, headers={"HX-Request": "true"}).content.decode()
    assert "2 jobs on public nodes" in section
    assert "long-train" in section and "on public-cpu" in section and "queued" in section
    assert "not-started" not in section
    assert "Dataset" in section and "reviews" in section

    stopped = client.post(reverse("resources:public-leftovers-choose", args=[project.pk]), {"choice": "stop"},
                          headers={"HX-Request": "true"}).content.decode()

    assert "Stopping 2 job(s) on public nodes." in stopped
    running.refresh_from_db()
    waiting.refresh_from_db()
    assert running.stop_requested_at is not None
    assert waiting.status == JobStatus.STOPPED
    assert "only its owner&#x27;s compute" in waiting.status_reason.replace("'", "&#x27;")
    assert AuditEvent.objects.filter(project=project, action="compute.public_jobs_stopped").exists()


def test_keep_changes_nothing_and_is_recorded(client, owner, project, on_public):
    _dataset, running, _waiting = on_public
    client.force_login(owner)
    _turn_on(client, project)

    kept = client.post(reverse("resources:public-leftovers-choose", args=[project.pk]), {"choice": "keep"},
                       headers={"HX-Request": "true"}).content.decode()

    assert "Kept:" in kept and "Stop these jobs" not in kept
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING and running.stop_requested_at is None
    event = AuditEvent.objects.get(project=project, action="compute.public_kept")
    assert event.after == {"datasets": 1, "models": 0, "jobs": 2}


def test_nothing_to_list_when_everything_is_on_the_owners_nodes(client, owner, project, nodes):
    client.force_login(owner)
    _turn_on(client, project)
    section = client.get(reverse("resources:public-leftovers", args=[project.pk])).content.decode()
    assert "Nothing of this project is on public compute." in section


def test_members_may_not_see_or_choose(client, project, member_all, on_public):
    client.force_login(member_all)
    assert client.get(reverse("resources:public-leftovers", args=[project.pk])).status_code == 403
    assert client.post(reverse("resources:public-leftovers-choose", args=[project.pk]),
                       {"choice": "stop"}).status_code == 403
    assert Job.objects.filter(status=JobStatus.RUNNING).count() == 1


@pytest.mark.parametrize("count", [3, 120])
def test_the_list_costs_the_same_at_any_size(client, owner, project, nodes, count, django_assert_max_num_queries):
    public, _own = nodes
    for n in range(count):
        job = make_job(project, owner, name=f"job-{n}")
        Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, node=public, started_at=timezone.now())
    client.force_login(owner)
    _turn_on(client, project)
    with django_assert_max_num_queries(16):
        section = client.get(reverse("resources:public-leftovers", args=[project.pk]),
                             headers={"HX-Request": "true"}).content.decode()
    assert f"{count} jobs on public nodes" in section
