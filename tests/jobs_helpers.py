"""Shared by the jobs tests: a local node with real storage, a job factory, running the worker."""

from __future__ import annotations

import sys
import threading
import time

from django.core.management import call_command

from compute.services import project_gpu_types_refresh
from resources.jobs import services
from resources.models import Job
from tests.factories import make_node

PY = sys.executable


def local_node(tmp_path, *, gpu_type="cpu", gpus=2, owner=None, name=None):
    import socket

    storage = tmp_path / "node-storage"
    storage.mkdir(exist_ok=True)
    return make_node(owner=owner, name=name, gpu_type=gpu_type, gpus=gpus, storage_path=str(storage),
                     hostname=socket.gethostname())


def ready(project):
    project_gpu_types_refresh(project=project, actor=None)
    return project


def make_job(project, actor, *, command="echo hi", type="training", gpu_type="cpu", gpu_count=1, **kw):
    return services.job_create(project=project, actor=actor, name=kw.pop("name", "job"), type=type,
                               gpu_type=gpu_type, gpu_count=gpu_count, command=command, **kw)


def run_worker():
    """`manage.py db_worker --batch`: runs every queued task, then returns."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*",
                 verbosity=0)


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


class RunnerThread(threading.Thread):
    """Runs placed jobs in a background thread with the very function the `run_job` task calls,
    while the test (or the live server) goes on. Used where a worker must run *concurrently*;
    the tests that prove the queue itself run `manage.py db_worker --batch` (run_worker).

    Why not db_worker's Worker in a thread: on SQLite the test database is in memory, shared
    between threads in shared-cache mode, where the worker's polling `BEGIN EXCLUSIVE` (5 times a
    second) makes every other thread's query fail at once with "table is locked" instead of
    waiting. This thread only reads to find work, so it behaves the same on SQLite and PostgreSQL.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.running = True

    def run(self):
        from django.db import OperationalError, connection

        from resources.jobs.runner import run_job

        try:
            while self.running:
                try:
                    pk = Job.objects.filter(status="starting").values_list("pk", flat=True).first()
                    if pk is not None:
                        run_job(str(pk))
                        continue
                except OperationalError:
                    pass
                time.sleep(0.2)
        finally:
            connection.close()

    def stop(self):
        self.running = False
        self.join(timeout=20)


def seed_gpu_types():
    """Transactional tests flush the database, seeded catalogue included: put it back."""
    import importlib

    from compute.models import GpuType

    seed = importlib.import_module("compute.migrations.0002_seed_gpu_types")
    for slug, name, memory, price in seed.CATALOGUE:
        GpuType.objects.get_or_create(slug=slug, defaults={"name": name, "memory_gb": memory,
                                                           "credits_per_gpu_hour": price})
