"""The no-credits refusal speaks to the person who meets it: the owner hears it is their account,
a member hears who the owner is. The same words in the web form, the API and the CLI."""

from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.urls import reverse
from trainshed.cli import main

from accounts.api_keys import api_key_create
from billing import services as billing_services
from billing.models import BillingAccount
from projects.middleware import SESSION_KEY
from resources.models import Job, JobStatus
from tests.factories import ProjectFactory, UserFactory, add_member
from tests.jobs_helpers import local_node, make_job, ready

OWNER_SAYS = "Your account has no credits: add credits to start jobs or store data again."
MEMBER_SAYS = "The owner (Olga Owner) has no credits: ask them to add credits."


@pytest.fixture
def broke(db, tmp_path):
    """Olga's project with no credits left; Bob may start jobs in it."""
    olga = UserFactory(email="olga@example.com", name="Olga Owner", credits=Decimal("1"))
    project = ProjectFactory(owner=olga, name="Shoestring")
    bob = UserFactory(email="bob@example.com")
    add_member(project, bob, jobs="all")
    local_node(tmp_path, gpus=2)
    ready(project)
    billing_services.adjustment_record(account=BillingAccount.objects.get(owner=olga), amount="-1",
                                       note="spent")
    project.olga, project.bob = olga, bob
    return project


def _web_start(client, person, project, job):
    client.force_login(person)
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    response = client.post(reverse("resources:job-start", args=[job.pk]), follow=True)
    return response.content.decode()


@pytest.mark.django_db
def test_the_web_refusal_speaks_to_owner_and_member(client, broke):
    job = make_job(broke, broke.bob)
    assert MEMBER_SAYS in _web_start(client, broke.bob, broke, job)
    assert OWNER_SAYS in _web_start(client, broke.olga, broke, job)
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW


@pytest.mark.django_db
def test_the_api_refusal_speaks_to_owner_and_member(client, broke):
    job = make_job(broke, broke.bob)
    for person, said in ((broke.bob, MEMBER_SAYS), (broke.olga, OWNER_SAYS)):
        response = client.post(f"/api/v1/jobs/{job.pk}/start", headers={
            "Authorization": f"Bearer {api_key_create(user=person, name='t')[1]}",
            "X-Trainshed-Project": str(broke.pk)})
        assert response.status_code == 400 and response.json()["detail"] == said


@pytest.mark.django_db
def test_a_system_stop_of_a_queued_job_keeps_the_neutral_words(broke):
    assert billing_services.spend_refusal(project=broke) == billing_services.NO_CREDITS_MESSAGE


@pytest.mark.django_db(transaction=True)
def test_the_cli_refusal_speaks_to_the_member(live_server, broke, tmp_path, monkeypatch):
    job = make_job(broke, broke.bob)
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", api_key_create(user=broke.bob, name="cli")[1])
    monkeypatch.setenv("TRAINSHED_PROJECT", str(broke.pk))
    result = CliRunner().invoke(main, ["job", "start", str(job.pk)])
    assert result.exit_code != 0
    assert MEMBER_SAYS in result.output
