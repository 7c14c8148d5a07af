"""Removing a member ends their work: their waiting and placed jobs are cancelled at once, their
running jobs are listed to the owner with a one-click stop (the API stops them unless
`keep_jobs=true`), and their notebook access ends on the very next request."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.api_keys import api_key_create
from compute import services as compute_services
from projects.models import Membership
from resources.jobs import services
from resources.models import JobStatus
from tests.factories import ProjectFactory
from tests.jobs_helpers import local_node, make_job, ready, seed_gpu_types

NODE_API = "/api/v1/node"


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


@pytest.fixture
def node(tmp_path, project):
    n = local_node(tmp_path, gpus=1)
    ready(project)
    return n


def _claim(node):
    token = compute_services.node_token_issue(node=node, actor=None)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.post(f"{NODE_API}/claim").status_code == 200
    return api


def _running_job(project, member, node, **kw):
    job = make_job(project, member, name="their-run", **kw)
    services.job_start(job=job, actor=member)
    api = _claim(node)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    return job, api


def _remove_url(project, member):
    membership = Membership.objects.get(project=project, user=member)
    return reverse("projects:member-remove", kwargs={"project_id": project.pk, "membership_id": membership.pk})


def test_removal_cancels_their_placed_and_waiting_jobs(client, owner, project, member_all, node):
    placed = make_job(project, member_all, name="placed")
    services.job_start(job=placed, actor=member_all)
    waiting = make_job(project, member_all, name="waiting")
    services.job_start(job=waiting, actor=member_all)
    placed.refresh_from_db()
    waiting.refresh_from_db()
    assert (placed.status, waiting.status) == (JobStatus.STARTING, JobStatus.WAITING)
    client.force_login(owner)
    assert client.post(_remove_url(project, member_all)).status_code == 302
    for job in (placed, waiting):
        job.refresh_from_db()
        assert job.status == JobStatus.STOPPED and "all@example.com was removed" in job.status_reason
    # the freed GPU does not go to anything of theirs, and nothing is left for the agent to claim
    assert Client(HTTP_AUTHORIZATION=f"Bearer {compute_services.node_token_issue(node=node, actor=None)}"
                  ).post(f"{NODE_API}/claim").status_code == 204


def test_running_jobs_of_a_removed_member_are_listed_with_a_one_click_stop(client, owner, project,
                                                                            member_all, node):
    job, _api = _running_job(project, member_all, node)
    client.force_login(owner)
    page = client.post(_remove_url(project, member_all), follow=True).content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.stop_requested_at is None  # the owner decides
    assert "their-run" in page and "all@example.com" in page
    stop_url = reverse("resources:former-member-job-stop", kwargs={"project_id": project.pk, "pk": job.pk})
    assert stop_url in page
    response = client.post(stop_url)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.stop_requested_at is not None
    assert "their-run" not in client.get(response["Location"]).content.decode().split("Project Members")[1]


def test_the_stop_button_is_the_owners_and_another_projects_job_is_a_404(client, owner, project, member_all,
                                                                         member_read, node, outsider):
    job, _api = _running_job(project, member_all, node)
    client.force_login(owner)
    client.post(_remove_url(project, member_all))
    stop_url = reverse("resources:former-member-job-stop", kwargs={"project_id": project.pk, "pk": job.pk})
    client.force_login(member_read)
    assert client.post(stop_url).status_code in (403, 404)
    other = ProjectFactory(owner=outsider, name="Elsewhere")
    client.force_login(outsider)
    assert client.post(reverse("resources:former-member-job-stop",
                               kwargs={"project_id": other.pk, "pk": job.pk})).status_code == 404
    job.refresh_from_db()
    assert job.stop_requested_at is None


def test_the_api_stops_their_running_jobs_unless_keep_jobs(client, owner, project, member_all, member_read,
                                                           node, tmp_path):
    job, _api = _running_job(project, member_all, node)
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}"}
    response = client.delete(f"/api/v1/projects/{project.pk}/members/all@example.com", headers=headers)
    assert response.status_code == 204
    job.refresh_from_db()
    assert job.stop_requested_at is not None


def test_the_api_keeps_running_jobs_with_keep_jobs(client, owner, project, member_all, node):
    job, _api = _running_job(project, member_all, node)
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}"}
    response = client.delete(f"/api/v1/projects/{project.pk}/members/all@example.com?keep_jobs=true",
                             headers=headers)
    assert response.status_code == 204
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.stop_requested_at is None


def test_notebook_access_ends_at_once(client, owner, project, member_all, node):
    job, api = _running_job(project, member_all, node, type="notebook", command="")
    ask = {"job_id": str(job.pk), "user_id": member_all.pk}
    assert api.post(f"{NODE_API}/notebook-access", ask, content_type="application/json").json() == {
        "allowed": True}
    client.force_login(owner)
    client.post(_remove_url(project, member_all))
    assert api.post(f"{NODE_API}/notebook-access", ask, content_type="application/json").json() == {
        "allowed": False}
