"""`manage.py serve` outlives its children: a worker killed with SIGKILL is started again (with
backoff) while the web server keeps answering; the jobs monitor keeps going through database
errors; and jobs whose heartbeats were missed only because the database was unreachable are not
reaped when it comes back."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from resources.jobs import services
from resources.jobs.monitor import DatabaseWatch, monitor_loop
from resources.models import Job, JobStatus
from tests.jobs_helpers import local_node, make_job, ready

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid, *args in rows:
            if int(ppid) == parent:
                found[int(child)] = args[0] if args else ""
                frontier.append(int(child))
    return found


def _answers(port) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).status == 200
    except OSError:
        return False


def test_serve_restarts_a_killed_worker_and_keeps_serving(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(TRAINSHED_VAR_DIR=str(tmp_path), DEBUG="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            if _answers(port):
                break
            time.sleep(0.25)
        started = _children(proc.pid)
        workers = [pid for pid, args in started.items() if "db_worker" in args]
        assert workers
        os.kill(workers[0], signal.SIGKILL)
        restarted = False
        for _ in range(80):
            time.sleep(0.25)
            now = [pid for pid, args in _children(proc.pid).items() if "db_worker" in args]
            if len(now) == len(workers) and workers[0] not in now:
                restarted = True
                break
        assert restarted and proc.poll() is None
        assert _answers(port)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    out = log.read_text()
    assert "exited with -9; restarting" in out and "started again" in out and "stopped." in out
    # Nothing it started runs on: not even what the killed worker had started (a reloader's child).
    assert [pid for pid in started if _running(pid)] == []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_monitor_loop_goes_on_through_database_errors():
    calls, errors = [], [OperationalError("the database system is starting up")] * 2

    def step(watch):
        calls.append(watch.healthy_since)
        if errors:
            raise errors.pop()

    monitor_loop(step, interval=0, rounds=4, sleep=lambda s: None, log=lambda m: None)
    assert len(calls) == 4  # two failures did not end it


def test_jobs_are_not_reaped_for_heartbeats_missed_while_the_database_was_unreachable(
        owner, project, tmp_path, settings):
    settings.TRAINSHED_JOB_STALE_SECONDS = 60
    node = local_node(tmp_path)
    ready(project)
    job = make_job(project, owner)
    services.job_start(job=job, actor=owner)
    services.run_claim_next(node=node)
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk=job.pk).update(last_heartbeat=long_ago)

    watch = DatabaseWatch(stale_seconds=60)
    watch.failed()  # the database went away ...
    watch.answered(took=0.1)  # ... and is back now: agents get a full window to report again
    assert services.jobs_reap(healthy_since=watch.healthy_since) == 0
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING

    later = timezone.now() + timedelta(seconds=61)  # a whole window with the database up, no heartbeat
    assert services.jobs_reap(now=later, healthy_since=watch.healthy_since) == 1
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_a_slow_database_answer_counts_as_unreachable(settings):
    watch = DatabaseWatch(stale_seconds=60, slow_seconds=10)
    before = watch.healthy_since
    time.sleep(0.01)
    watch.answered(took=75)  # a 75 s lock: heartbeats waited as long
    assert watch.healthy_since > before


@pytest.fixture(autouse=True)
def _db(db):
    pass
