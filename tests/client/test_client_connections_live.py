"""The SDK and CLI keep one HTTP connection for a command and follow the lists' `next` cursors:
`trainshed job list` of 10,000 jobs is a handful of requests on one connection, against a live
server that counts the connections it accepts and the requests it answers."""

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner
from django.core.signals import request_started
from django.utils import timezone
from trainshed import Trainshed
from trainshed.cli import main

from accounts.api_keys import api_key_create
from compute.models import GpuType
from resources.models import Job
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted(live_server, monkeypatch):
    """{"connections": n, "requests": n} the live server accepted and answered from now on."""
    seen = {"connections": 0, "requests": 0}
    httpd = live_server.thread.httpd
    accept = httpd.process_request

    def process_request(request, client_address):
        seen["connections"] += 1
        return accept(request, client_address)

    monkeypatch.setattr(httpd, "process_request", process_request)

    def started(**kwargs):
        seen["requests"] += 1

    request_started.connect(started, weak=False)
    yield seen
    request_started.disconnect(started)


@pytest.fixture
def team(live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    alice = UserFactory(email="alice@example.com")
    project = ProjectFactory(owner=alice, name="Team")
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    monkeypatch.setenv("TRAINSHED_API_KEY", api_key_create(user=alice, name="cli")[1])
    monkeypatch.setenv("TRAINSHED_PROJECT", str(project.pk))
    project.alice = alice
    return project


def _jobs(project, count):
    cpu = GpuType.objects.get(slug="cpu")
    start = timezone.now() - timedelta(days=1)
    Job.objects.bulk_create([Job(project=project, name=f"job-{i:05}", gpu_type=cpu, command="x",
                                 created_by=project.alice, created_at=start + timedelta(seconds=i))
                             for i in range(count)], batch_size=2000)


def test_job_list_of_10000_jobs_is_20_requests_on_one_connection(team, counted):
    _jobs(team, 10_000)
    listed = CliRunner().invoke(main, ["job", "list"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert len(lines) == 1 + 10_000  # the header, then every job once
    assert lines[1].split()[1] == "job-09999" and lines[-1].split()[1] == "job-00000"
    assert len({line.split()[0] for line in lines[1:]}) == 10_000
    assert counted["requests"] == 20  # pages of 500, each asked with the previous page's cursor
    assert counted["connections"] == 1


def test_the_blocking_sdk_keeps_one_connection_across_calls(team, counted):
    _jobs(team, 3)
    with Trainshed().sync as ts:
        assert [j["name"] for j in ts.jobs.list()] == ["job-00002", "job-00001", "job-00000"]
        assert ts.account.me()["email"] == "alice@example.com"
        assert [p["name"] for p in ts.projects.list()] == ["Personal", "Team"]
        assert ts.jobs.get(ts.jobs.list()[0]["id"])["name"] == "job-00002"
    assert counted == {"requests": 5, "connections": 1}


def test_the_async_sdk_keeps_one_connection_for_its_lifetime(team, counted):
    _jobs(team, 2)

    async def scenario():
        async with Trainshed() as ts:
            names = [j["name"] for j in await ts.jobs.list()]
            me = await ts.account.me()
            return names, me["email"]

    assert asyncio.run(scenario()) == (["job-00001", "job-00000"], "alice@example.com")
    assert counted == {"requests": 2, "connections": 1}
    # A client used from a second event loop opens a fresh pool there (the first loop's is gone).
    ts = Trainshed()
    assert asyncio.run(ts.account.me())["email"] == "alice@example.com"
    assert asyncio.run(ts.account.me())["email"] == "alice@example.com"
    assert counted == {"requests": 4, "connections": 3}
