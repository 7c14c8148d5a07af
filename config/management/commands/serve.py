"""`manage.py serve`: the web server and every background process, stopped together by Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


def processes(addr: str) -> list[tuple[str, list[str]]]:
    from django.conf import settings

    manage = [sys.executable, "manage.py"]
    # Each job occupies its worker while it runs: jobs get their own workers (on the queues of
    # this machine's nodes), so a running notebook never holds up downloads or other jobs.
    job_workers = [
        (f"jobs-worker-{n}", [*manage, "jobs", "worker"])
        for n in range(1, max(1, settings.TRAINSHED_JOB_WORKERS) + 1)
    ]
    return [
        ("web", [*manage, "runserver", addr]),
        ("worker", [*manage, "db_worker", "--queue-name", "default", "--interval", "0.5"]),
        *job_workers,
        ("jobs-monitor", [*manage, "jobs", "monitor"]),
        ("node", [*manage, "node", "run-local"]),
    ]


class Command(BaseCommand):
    help = "Serve Trainshed and run its worker; Ctrl-C stops all of it."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("TRAINSHED_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        from billing.tasks import ensure_scheduled

        ensure_scheduled()  # the worker's periodic accrual (charges compute and storage)
        children: list[tuple[str, subprocess.Popen]] = []
        for name, argv in processes(addr):
            self.stdout.write(f"starting {name}: {' '.join(argv[1:])}")
            children.append((name, subprocess.Popen(argv, start_new_session=True)))
        self.stdout.write(self.style.SUCCESS(f"Trainshed is at http://{addr}/ — Ctrl-C stops it."))

        def stop(*_):
            raise KeyboardInterrupt

        # Both, explicitly: a shell may start us with SIGINT ignored (e.g. in the background).
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while True:
                for name, proc in children:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for _name, proc in children:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for _name, proc in children:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            self.stdout.write("stopped.")
