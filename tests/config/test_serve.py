"""`make run`'s last step, `manage.py serve`: the web server and the background processes start
together, and one Ctrl-C (SIGINT) stops every one of them."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = settings.BASE_DIR  # the repository, wherever this module sits under tests/


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout.split()[2:]
    pairs = list(zip(out[::2], out[1::2], strict=False))
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [int(c) for c, p in pairs if int(p) == parent]
        found += kids
        frontier += kids
    return found


def test_serve_starts_everything_and_ctrl_c_stops_it_all(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(TRAINSHED_VAR_DIR=str(tmp_path), DEBUG="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--addr", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status = None
        for _ in range(120):
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1).status
                break
            except OSError:
                time.sleep(0.25)
        assert status == 200
        children = _children_of(proc.pid)
        commands = subprocess.run(["ps", "-o", "args=", "-p", ",".join(map(str, children))],
                                  capture_output=True, text=True).stdout
        assert "runserver" in commands and "db_worker" in commands and "trainshed-agent" in commands
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        time.sleep(0.5)
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
                 and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
        assert alive == []
        assert "stopped." in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
