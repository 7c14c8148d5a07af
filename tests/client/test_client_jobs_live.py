"""`trainshed job …` and `ts.jobs` against a live server over real HTTP (no mocks); jobs run for
real, on the node's agent (AgentThread, against the same live server)."""

import asyncio

import pytest
from click.testing import CliRunner
from trainshed import Trainshed, TrainshedError
from trainshed.cli import main

from accounts.api_keys import api_key_create
from projects.keys import secret_set
from resources.models import Job, JobStatus
from tests.factories import ProjectFactory, UserFactory
from tests.jobs_helpers import PY, AgentThread, local_node, ready, status_of, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team(live_server, tmp_path, monkeypatch):
    """Alice's project "Team" as the active project, a local cpu node it may use."""
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    alice = UserFactory(email="alice@example.com")
    project = ProjectFactory(owner=alice, name="Team")
    project.node = local_node(tmp_path, name="local-box")
    project.live_url = live_server.url
    project.tmp = tmp_path
    ready(project)
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", api_key_create(user=alice, name="cli")[1])
    monkeypatch.setenv("TRAINSHED_PROJECT", str(project.pk))
    return project


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_job_create_start_run_then_logs_prints_the_output_with_the_secret_hidden(team):
    secret_set(project=team, name="WANDB_API_KEY", value="s3cret-wandb-value", actor=None)
    created = run("job", "create", "--name", "sentiment", "--gpu-type", "cpu", "--gpus", "1",
                  "--command", f"{PY} -c \"import os; print('epochs', os.environ['EPOCHS'])\"",
                  "--command", "echo token is $WANDB_API_KEY", "--env", "EPOCHS=3")
    assert created.exit_code == 0, created.output
    job = Job.objects.get(name="sentiment")
    assert f"Created sentiment ({job.pk})" in created.output
    assert job.project == team and job.env == {"EPOCHS": "3"} and job.command.count("\n") == 1

    started = run("job", "start", str(job.pk))
    assert started.exit_code == 0, started.output
    assert "starting" in started.output and "local-box" in started.output
    with AgentThread(team.node, team.tmp, url=team.live_url):
        wait_for(lambda: status_of(job) == JobStatus.FINISHED)

    logs = run("job", "logs", str(job.pk))
    assert logs.exit_code == 0, logs.output
    assert "epochs 3\ntoken is ***\n" in logs.output and "s3cret" not in logs.output
    async def follow():  # the SDK's follow: the whole log, then it ends (the job has ended)
        return "".join([text async for text in Trainshed().jobs.follow(str(job.pk), every=0.1)])

    assert asyncio.run(follow()) == Trainshed().sync.jobs.log_text(str(job.pk))
    assert "token is ***" in asyncio.run(follow())
    listed = run("job", "list", "--status", "finished")
    assert "sentiment" in listed.output and "local-box" in listed.output
    shown = run("job", "show", str(job.pk))
    assert "finished" in shown.output and "Running on local-box" in shown.output

    removed = run("job", "remove", str(job.pk))
    assert removed.exit_code == 0 and "Removed sentiment" in removed.output
    assert run("job", "list").output.strip() == "No jobs."


def test_logs_follow_prints_new_text_until_the_job_ends(team):
    ts = Trainshed().sync
    command = (f"{PY} -c \"import time; print('first', flush=True); time.sleep(1.5); "
               "print('second', flush=True)\"")
    job = ts.jobs.create("follow me", gpu_type="cpu", command=command)
    with AgentThread(team.node, team.tmp, url=team.live_url):
        ts.jobs.start(job["id"])
        followed = CliRunner().invoke(main, ["job", "logs", job["id"], "--follow", "--every", "0.2"],
                                      catch_exceptions=False)
    assert followed.exit_code == 0, followed.output
    assert followed.stdout.count("first\n") == 1 and followed.stdout.count("second\n") == 1
    assert followed.stdout.index("first") < followed.stdout.index("second")
    assert followed.stderr.strip() == "[finished]"
    assert Job.objects.get(pk=job["id"]).status == JobStatus.FINISHED


def test_sdk_jobs_async_and_sync(team):
    ts = Trainshed()

    async def scenario():
        made = await ts.jobs.create("nb", type="notebook", gpu_type="cpu")
        listed = await ts.jobs.list()
        with pytest.raises(TrainshedError) as refused:
            await ts.jobs.create("big", gpu_type="cpu", gpu_count=5, command="echo hi")
        return made, listed, refused.value

    made, listed, refused = asyncio.run(scenario())
    assert made["status"] == "new" and [j["id"] for j in listed] == [made["id"]]
    assert (refused.status, refused.field) == (400, "gpu_count")

    sync = ts.sync
    started = sync.jobs.start(made["id"])  # no agent: it stays "starting" until stopped
    assert started["status"] == "starting"
    assert sync.jobs.stop(made["id"])["status"] == "stopped"
    assert sync.jobs.logs(made["id"])["ended"] is True
    sync.jobs.remove(made["id"])
    with pytest.raises(TrainshedError) as gone:
        sync.jobs.get(made["id"])
    assert (gone.value.status, gone.value.detail) == (404, "Not found.")


def test_job_failures_are_one_line_on_stderr(team):
    other = CliRunner().invoke(main, ["job", "create", "--name", "x", "--gpu-type", "a100",
                                      "--command", "echo hi"])
    assert other.exit_code == 1
    assert other.stderr.startswith("Error: gpu_type: “a100” is not a GPU type this project may use.")
    assert len(other.stderr.strip().splitlines()) == 1

    empty = CliRunner().invoke(main, ["job", "create", "--name", "x", "--gpu-type", "cpu"])
    assert empty.exit_code == 1 and empty.stderr.strip() == "Error: command: Enter the command to run."

    bad_env = CliRunner().invoke(main, ["job", "create", "--name", "x", "--gpu-type", "cpu",
                                        "--command", "echo", "--env", "NOEQUALS"])
    assert bad_env.exit_code == 2 and "NAME=value" in bad_env.stderr

    missing = CliRunner().invoke(main, ["job", "logs", "7c0f5c8e-6f39-4d3c-9a43-3f1f0c7b2b11"])
    assert missing.exit_code == 1 and missing.stderr.strip() == "Error: Not found."
    for result in (other, empty, bad_env, missing):
        assert "Traceback" not in result.output
    assert not Job.objects.exists()
