"""TEMPORARY stand-in until the bubblewrap sandbox lands (same interface)."""
from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Mount:
    host: Path
    inside: str
    writable: bool = False


@dataclass
class SandboxSpec:
    job_id: str
    argv: list[str]
    env: dict[str, str]
    workspace: Path
    inputs: list[Mount] = field(default_factory=list)
    gpu_indices: list[int] = field(default_factory=list)
    memory_bytes: int | None = None
    max_processes: int | None = None
    port: int | None = None
    network: str = "internet"
    extra_read_only: list[str] = field(default_factory=list)
    device_dir: Path = Path("/dev")
    uid: int | None = None


def check() -> tuple[bool, str]:
    return True, ""


class Sandbox:
    def __init__(self, proc):
        self.proc = proc
        self.pid = proc.pid
        self.stdout = proc.stdout
        self.host_port = None

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def stop(self, grace: float) -> int:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        return self.proc.wait()

    def limit_hit(self) -> str:
        return ""

    def cleanup(self) -> None:
        pass


def start(spec):
    return start_unsandboxed(spec)


def start_unsandboxed(spec):
    env = dict(spec.env)
    script = spec.argv[-1].replace("cd /workspace", f"cd {spec.workspace}")
    env["HOME"] = str(spec.workspace)
    proc = subprocess.Popen([*spec.argv[:-1], script], cwd=spec.workspace, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    return Sandbox(proc)
