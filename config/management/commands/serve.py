"""`manage.py serve`: the web server and every background process, stopped together by Ctrl-C."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand


def local_agents(addr: str) -> list[tuple[str, list[str], dict]]:
    """One agent per node hosted on this machine (the demo's nodes, or any an operator pointed
    here), each with a fresh token: a child that knows the URL and its token, nothing else."""
    from django.conf import settings

    from compute import local
    from compute.models import ComputeNode
    from compute.services import node_token_issue

    agent = str(Path(sys.executable).with_name("trainshed-agent"))
    local.node_here()
    out = []
    for node in ComputeNode.objects.filter(hostname=local.hostname()).order_by("name"):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": os.environ.get("HOME", "/"),
            "TRAINSHED_AGENT_URL": f"http://{addr}",
            "TRAINSHED_AGENT_TOKEN": node_token_issue(node=node, actor=None),
            "TRAINSHED_AGENT_DIR": str(Path(settings.VAR_DIR) / "agents" / str(node.pk)),
            "TRAINSHED_AGENT_LISTEN": f"{settings.TRAINSHED_AGENT_LISTEN_HOST}:0",
        }
        for name in ("TRAINSHED_JUPYTER_COMMAND", "TRAINSHED_AGENT_NETWORK", "LOG_LEVEL"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        out.append((f"agent-{node.name}", [agent], env))
    return out


def processes(addr: str) -> list[tuple[str, list[str], dict | None]]:
    manage = [sys.executable, "manage.py"]
    return [
        ("web", [*manage, "runserver", addr], None),
        # One worker per queue: a download that drips for an hour never delays accrual.
        ("worker-accrual", [*manage, "db_worker", "--queue-name", "accrual", "--interval", "0.5"], None),
        ("worker-downloads", [*manage, "db_worker", "--queue-name", "downloads", "--interval", "0.5"], None),
        ("jobs-monitor", [*manage, "jobs", "monitor"], None),
        *local_agents(addr),
    ]


class Command(BaseCommand):
    help = "Serve Trainshed and run its worker; Ctrl-C stops all of it."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("TRAINSHED_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        from django.core.management.base import CommandError

        from billing.tasks import ensure_scheduled
        from config.bind import debug_bind_refusal

        refusal = debug_bind_refusal(addr)
        if refusal:
            raise CommandError(refusal)

        ensure_scheduled()  # the worker's periodic accrual (charges compute and storage)
        children = [_Child(name, argv, env) for name, argv, env in processes(addr)]
        for child in children:
            self.stdout.write(f"starting {child.name}: {' '.join(child.argv[1:]) or child.argv[0]}")
            child.start()
        self.stdout.write(self.style.SUCCESS(f"Trainshed is at http://{addr}/ — Ctrl-C stops it."))

        def stop(*_):
            raise KeyboardInterrupt

        # Both, explicitly: a shell may start us with SIGINT ignored (e.g. in the background).
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while True:
                for child in children:
                    note = child.watch()
                    if note:
                        self.stderr.write(note)
                        self.stdout.write(note)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.proc is not None and child.proc.poll() is None:
                    os.killpg(child.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                if child.proc is None:
                    continue
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(child.proc.pid, signal.SIGKILL)
            self.stdout.write("stopped.")


class _Child:
    """One background process: started again when it exits (crash, kill -9, a worker that gave
    up on the database), after a delay that doubles while it keeps failing soon after starting."""

    FIRST_DELAY, MAX_DELAY, STEADY_SECONDS = 1.0, 60.0, 60.0

    def __init__(self, name: str, argv: list[str], env: dict | None):
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.delay = self.FIRST_DELAY
        self.restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None

    def watch(self) -> str:
        """Restart when due; returns a line to print, or ""."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                return f"{self.name} started again."
            return ""
        if self.proc is None or self.proc.poll() is None:
            return ""
        # What it left behind in its process group (e.g. a reloader's child, orphaned when the
        # reloader was killed) would otherwise run on beside the new one.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if now - self.started_at >= self.STEADY_SECONDS:
            self.delay = self.FIRST_DELAY  # it ran fine for a while: this is a fresh failure
        wait = self.delay
        self.delay = min(self.delay * 2, self.MAX_DELAY)
        self.restart_at = now + wait
        return f"{self.name} exited with {self.proc.returncode}; restarting in {wait:g}s."
