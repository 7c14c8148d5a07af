"""`manage.py jobs reap|monitor|worker`: the operators' side of jobs."""

from __future__ import annotations

import signal
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from resources.jobs import services


class Command(BaseCommand):
    help = "Reap jobs whose worker died, and place waiting jobs (once, or every few seconds)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("reap", help="fail running jobs with a stale heartbeat (once)")
        mon = sub.add_parser("monitor", help="reap and place waiting jobs until stopped")
        mon.add_argument("--interval", type=float, default=5.0)
        work = sub.add_parser("worker", help="run the jobs placed on this machine's nodes (a db_worker "
                                             "on their queues); one job at a time per worker")
        work.add_argument("--hostname", default=None, help="default: this machine's host name")
        work.add_argument("--batch", action="store_true", help="run what is queued, then exit")

    def handle(self, *args, action, **options):
        if action == "worker":
            return self.worker(hostname=options["hostname"], batch=options["batch"])
        if action == "reap":
            self.stdout.write(f"reaped {services.jobs_reap()} job(s)")
            return
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"watching jobs every {options['interval']:g}s")
        while not stopping:
            reaped = services.jobs_reap()
            placed = services.jobs_place_waiting()
            if reaped or placed:
                self.stdout.write(f"reaped {reaped}, placed {placed}")
            close_old_connections()
            deadline = time.monotonic() + options["interval"]
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.5)

    def worker(self, *, hostname: str | None, batch: bool) -> None:
        from compute import local
        from compute.models import ComputeNode

        host = hostname or local.hostname()
        said = False
        while True:
            queues = [node.job_queue for node in ComputeNode.objects.filter(hostname=host).order_by("name")]
            if queues:
                break
            missing = f"no compute node is registered for {host} (`manage.py node register`)"
            if batch:
                raise CommandError(missing.capitalize() + ".")
            if not said:
                self.stdout.write(f"waiting: {missing}")
                said = True
            close_old_connections()
            time.sleep(5)
        args = ["--queue-name", ",".join(queues), "--interval", "0.5", "--no-reload"]
        call_command("db_worker", *args, *(["--batch", "--no-startup-delay"] if batch else []))
