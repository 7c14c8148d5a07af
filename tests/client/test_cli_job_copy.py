"""`trainshed job copy ID [--start]` against a live server over real HTTP: a new job with the
job's settings (changed by the options), started with --start; a refusal prints the message."""

import pytest
from click.testing import CliRunner
from django.utils import timezone
from trainshed.cli import main

from accounts.api_keys import api_key_create
from resources.models import Job, JobStatus
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import make_job, ready

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    alice = UserFactory(email="alice@example.com")
    project = ProjectFactory(owner=alice, name="Team")
    make_node(gpu_type="cpu", gpus=2, name="cpu-box")
    ready(project)
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", api_key_create(user=alice, name="cli")[1])
    project.alice = alice
    return project


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_job_copy_start_runs_the_same_spec_again(team):
    job = make_job(team, team.alice, name="sentiment", command="echo one\necho two", env={"EPOCHS": "3"})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED, started_at=timezone.now())

    result = run("job", "copy", str(job.pk), "--start", "--project", str(team.pk))

    assert result.exit_code == 0, result.output
    copy = Job.objects.exclude(pk=job.pk).get()
    assert f"Started sentiment ({copy.pk}), a copy of {job.pk}" in result.output
    assert (copy.command, copy.env, copy.status) == ("echo one\necho two", {"EPOCHS": "3"}, JobStatus.STARTING)


def test_job_copy_with_changes_is_not_started(team, monkeypatch):
    monkeypatch.setenv("TRAINSHED_PROJECT", str(team.pk))
    job = make_job(team, team.alice, name="sentiment", command="echo one", env={"EPOCHS": "3"})

    result = run("job", "copy", str(job.pk), "--name", "sentiment v2", "--env", "EPOCHS=7",
                 "--command", "echo seven")

    assert result.exit_code == 0, result.output
    copy = Job.objects.get(name="sentiment v2")
    assert "Created sentiment v2" in result.output
    assert (copy.command, copy.env, copy.status) == ("echo seven", {"EPOCHS": "7"}, JobStatus.NEW)


def test_job_copy_of_another_projects_job_says_not_found(team):
    other = ProjectFactory(owner=UserFactory(), name="Theirs")
    ready(other)
    theirs = make_job(other, other.owner, name="theirs")

    result = CliRunner().invoke(main, ["job", "copy", str(theirs.pk), "--project", str(team.pk)])

    assert result.exit_code != 0
    assert "not found" in result.output.lower() or "404" in result.output
    assert Job.objects.filter(project=team).count() == 0
