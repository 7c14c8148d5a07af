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
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def status_of(job) -> str:
    return Job.objects.filter(pk=job.pk).values_list("status", flat=True).get()


class WorkerThread(threading.Thread):
    """The task worker in a background thread (Worker.run without its signal handlers): picks up
    queued tasks until stopped. Works on SQLite (shared in-memory test database) and PostgreSQL."""

    def __init__(self):
        super().__init__(daemon=True)
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(queue_names=["*"], interval=0.2, batch=False, backend_name="default",
                             startup_delay=False, max_tasks=None, worker_id="test-thread",
                             excluded_queue_names=[])

    def run(self):
        from django.db import OperationalError, connection

        try:
            while self.worker.running:
                try:
                    self.worker.run()
                except OperationalError:
                    # The shared in-memory SQLite test database answers "table is locked" at once
                    # instead of waiting (shared-cache mode); the worker's BEGIN EXCLUSIVE is not
                    # retried by the worker itself. Try again, as a real worker's restart would.
                    time.sleep(0.1)
        finally:
            connection.close()

    def stop(self):
        self.worker.running = False
        self.join(timeout=20)


def seed_gpu_types():
    """Transactional tests flush the database, seeded catalogue included: put it back."""
    import importlib

    from compute.models import GpuType

    seed = importlib.import_module("compute.migrations.0002_seed_gpu_types")
    for slug, name, memory, price in seed.CATALOGUE:
        GpuType.objects.get_or_create(slug=slug, defaults={"name": name, "memory_gb": memory,
                                                           "credits_per_gpu_hour": price})
