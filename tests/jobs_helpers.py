"""Shared by the jobs tests: a node with a real agent here, a job factory, running its jobs."""

from __future__ import annotations

import sys
import threading
import time

from compute.services import project_gpu_types_refresh
from resources.jobs import services
from resources.models import Job
from tests.factories import make_node

PY = sys.executable


def local_node(tmp_path, *, gpu_type="cpu", gpus=2, owner=None, name=None, **extra):
    """A node whose agent runs here (see `agent_for`), with storage on the agent's disk."""
    import socket

    fields = {"hostname": socket.gethostname(), "storage_path": str(tmp_path / "agent" / "files"), **extra}
    return make_node(owner=owner, name=name, gpu_type=gpu_type, gpus=gpus, **fields)


def ready(project):
    project_gpu_types_refresh(project=project, actor=None)
    return project


def make_job(project, actor, *, command="echo hi", type="training", gpu_type="cpu", gpu_count=1, **kw):
    return services.job_create(project=project, actor=actor, name=kw.pop("name", "job"), type=type,
                               gpu_type=gpu_type, gpu_count=gpu_count, command=command, **kw)


def agent_settings(tmp_path, **kw):
    from trainshed.agent.jobs import Settings

    defaults = {"workdir": tmp_path / "agent", "poll_seconds": 0.1, "disk_check_seconds": 0.5,
                "kill_grace_seconds": 2.0, "network": "none"}
    defaults.update(kw)
    return Settings(**defaults)


class _InProcess:
    """The server as a WSGI app for an agent in the test's own thread: like Django's test client,
    requests keep the test's database connection (and transaction) open."""

    def __init__(self):
        from django.core.wsgi import get_wsgi_application

        self.app = get_wsgi_application()

    def __call__(self, environ, start_response):
        from django.core import signals
        from django.db import close_old_connections

        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = self.app(environ, start_response)
            return list(response)  # read whole here, so request_finished fires while disconnected
        finally:
            if hasattr(response, "close"):
                response.close()
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


def agent_for(node, tmp_path, *, serve=False, **settings):
    """The real agent for `node`, talking to this test's server in-process (same database
    transaction), with a fresh token. `serve=True` also starts its notebook proxy and file relay."""
    import httpx
    from trainshed.agent.main import Agent

    from compute.services import node_token_issue

    token = node_token_issue(node=node, actor=None)
    agent = Agent(url="http://testserver", token=token, settings=agent_settings(tmp_path, **settings),
                  transport=httpx.WSGITransport(app=_InProcess()), serve=serve)
    agent.heartbeat()
    return agent


def run_agent(agent) -> list[str]:
    """Run every job placed on the agent's node to its end, one after the other, in this thread;
    returns their final statuses."""
    done = []
    while (status := agent.run_claimed()) is not None:
        done.append(status)
    return done


def wait_for(predicate, timeout=15.0, every=0.1):
    deadline = time.monotonic() + timeout
    from django.db import OperationalError

    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OperationalError:  # SQLite shared-cache: "table is locked" for a moment
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def status_of(job) -> str:
    return Job.objects.filter(pk=job.pk).values_list("status", flat=True).get()


class AgentThread(threading.Thread):
    """The real agent in a background thread while the test goes on: against `url` (a live
    server), or in-process (then the test must commit: `django_db(transaction=True)`)."""

    def __init__(self, node, tmp_path, url=None, **settings):
        super().__init__(daemon=True)
        import httpx
        from django.core.wsgi import get_wsgi_application
        from trainshed.agent.main import Agent

        from compute.services import node_token_issue

        transport = None if url else httpx.WSGITransport(app=get_wsgi_application())
        self.agent = Agent(url=url or "http://testserver", token=node_token_issue(node=node, actor=None),
                           settings=agent_settings(tmp_path, **settings), transport=transport, serve=True)

    def run(self):
        from django.db import connection

        try:
            self.agent.serve_forever(claim_every=0.1)
        finally:
            connection.close()

    def stop(self):
        self.agent.stopping.set()
        self.join(timeout=30)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def seed_gpu_types():
    """Transactional tests flush the database, seeded catalogue included: put it back."""
    import importlib

    from compute.models import GpuType

    seed = importlib.import_module("compute.migrations.0002_seed_gpu_types")
    for slug, name, memory, price in seed.CATALOGUE:
        GpuType.objects.get_or_create(slug=slug, defaults={"name": name, "memory_gb": memory,
                                                           "credits_per_gpu_hour": price})


# ---- the whole path: the control plane and the agent as processes of their own -------------------

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def free_port(host="127.0.0.1") -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_up(proc, url, log, timeout=90.0):
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s: {log.read_text()[-2000:]}")


class ServerProcess:
    """The control plane as its own process (`manage.py runserver`) on this test run's database,
    with the environment a real server has: its SECRET_KEY, Fernet keys and `env` (markers the
    probes look for). Tests that use it commit (`django_db(transaction=True)`), on PostgreSQL."""

    def __init__(self, workdir, *, host="127.0.0.1", env=None):
        import os
        import subprocess

        from django.conf import settings
        from django.db import connection

        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.log = workdir / "server.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "DEBUG": "1",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "TRAINSHED_FERNET_KEYS": ",".join(settings.TRAINSHED_FERNET_KEYS),  # the test's, to share secrets
            "TRAINSHED_VAR_DIR": str(workdir / "var"), "ALLOWED_HOSTS": host,
            # A second host's agent reaches it on a veth address: the test means that bind.
            "TRAINSHED_DEBUG_ALLOW_REMOTE": "1", **(env or {}),
        }
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [PY, "manage.py", "runserver", "--noreload", f"{host}:{self.port}"], cwd=REPO,
                env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _wait_up(self.proc, self.url + "/api/v1/openapi.json", self.log)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except Exception:
                self.proc.kill()
                self.proc.wait()


class AgentProcess:
    """`trainshed-agent` as its own process for `node` (a fresh token), against `url`.
    `prefix` runs it under another command (e.g. `ip netns exec NAME`); `env` adds to its
    environment (settings, markers the probes look for)."""

    def __init__(self, node, url, workdir, *, prefix=(), env=None, token=None):
        import os
        import subprocess

        from compute.services import node_token_issue

        self.token = token or node_token_issue(node=node, actor=None)
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = workdir.parent / f"{workdir.name}-agent.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
            "TRAINSHED_AGENT_URL": url, "TRAINSHED_AGENT_TOKEN": self.token,
            "TRAINSHED_AGENT_DIR": str(workdir), "TRAINSHED_AGENT_NETWORK": "none",
            "TRAINSHED_AGENT_POLL_SECONDS": "0.2", "TRAINSHED_AGENT_CLAIM_SECONDS": "0.2",
            "TRAINSHED_JOB_KILL_GRACE_SECONDS": "1",
            "PYTHONUNBUFFERED": "1", **(env or {}),
        }
        self._out = open(self.log, "wb")  # noqa: SIM115 (open while the agent runs)
        self.proc = subprocess.Popen([*prefix, PY, "-m", "trainshed.agent.main"],
                                     env=self.env, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self):
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
