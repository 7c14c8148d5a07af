"""`manage.py serve`: the web server and every background process, stopped together by Ctrl-C."""

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
        children: list[tuple[str, subprocess.Popen]] = []
        for name, argv, env in processes(addr):
            self.stdout.write(f"starting {name}: {' '.join(argv[1:]) or argv[0]}")
            children.append((name, subprocess.Popen(argv, env=env, start_new_session=True)))
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
