"""`manage.py jobs reap|monitor`: the operators' side of jobs (nodes' agents run them)."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from resources.jobs import services
from resources.jobs.monitor import monitor_loop


class Command(BaseCommand):
    help = "Reap jobs whose worker died, and place waiting jobs (once, or every few seconds)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("reap", help="fail running jobs with a stale heartbeat (once)")
        mon = sub.add_parser("monitor", help="reap and place waiting jobs until stopped")
        mon.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, action, **options):
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
        # Database errors are retried with backoff (resources/jobs/monitor.py), never fatal.
        monitor_loop(interval=options["interval"], stopping=lambda: stopping,
                     log=lambda message: self.stdout.write(message))
