"""One job on this node, from its spec to its end (the agent runs each in a thread of its own).

1. The workspace `<agent dir>/jobs/<job id>/`: fresh `input/` (each input fetched through the API,
   then read-only), `output/` (kept between a notebook's runs), the project's key files (mode 600).
2. The command(s) by `sh -e` in the sandbox (notebooks: `exec` JupyterLab at the end, reached
   through the agent's proxy), with exactly the spec's environment.
3. While it runs: the log streamed in numbered chunks (sent again from what the server
   acknowledged after a blip), a heartbeat that also says whether to stop, and the disk check.
4. The outcome: finished (and output/ sent as a model), failed with the reason, or stopped.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import shlex
import shutil
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from trainshed.agent import sandbox
from trainshed.agent.control import Control, Gone, Refused, TokenRefused

logger = logging.getLogger("trainshed.agent")

BYTES_PER_GB = 10**9
LOG_FLUSH_SECONDS = 0.25  # with the job page's 1 s poll, a line shows within ~1 s
LOG_FLUSH_BYTES = 64 * 1024
LOG_CHUNK_MAX = 1024 * 1024  # characters in one chunk (the server takes requests up to 10 MB)
NOTEBOOK_PORT = 8888


@dataclass
class Settings:
    """The node's own configuration (the agent's environment, see trainshed.agent.main)."""

    workdir: Path
    poll_seconds: float = 1.0
    disk_check_seconds: float = 30.0
    kill_grace_seconds: float = 5.0
    jupyter_command: str = ""
    network: str = "internet"
    read_only_paths: list[str] = field(default_factory=list)
    device_dir: Path = Path("/dev")
    memory_bytes: int | None = None
    max_processes: int | None = None
    public_host: str = "127.0.0.1"


class JobFailed(Exception):
    """The job cannot start or its outcome is a failure; the message is shown on the job page."""


def workspace_bytes(path: Path) -> int:
    """Apparent size of every file under `path` (a sparse file counts in full; links not followed)."""
    total, folders = 0, [path]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


def _make_writable(path: Path) -> None:
    for root, dirs, _files in os.walk(path):
        os.chmod(root, 0o755)  # noqa: S103 (inputs are read-only: make them deletable)
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)  # noqa: S103


def remove_workspace(path: Path) -> None:
    if path.exists():
        _make_writable(path)
        shutil.rmtree(path, ignore_errors=True)


class Log:
    """The job's output in numbered chunks; a chunk is dropped only once the server stored it."""

    def __init__(self, control: Control, job_id: str, acked: int):
        self.control, self.path = control, f"/jobs/{job_id}/log"
        self.acked = acked
        self.pending: list[tuple[int, str]] = []
        self.buffer: list[str] = []
        self.size = 0
        self.flushed_at = time.monotonic()
        self.output_read = False  # the command wrote something (the agent's notes do not count)
        self.output_sent = False  # ... and it went out
        self.lock = threading.Lock()  # the buffer
        self.send_lock = threading.Lock()  # the numbered chunks and their requests
        # Set when output arrives that is due at once (the run's first, or a full batch): the job's
        # loop waits on it instead of sleeping, so the first line goes out as soon as it is read.
        self.due = threading.Event()

    def add(self, text: str, *, output: bool = True) -> None:
        with self.lock:
            before = self.size
            self.buffer.append(text)
            self.size += len(text)
            self.output_read = self.output_read or output
            if (output and not self.output_sent) or before < LOG_FLUSH_BYTES <= self.size:
                self.due.set()

    def note(self, text: str) -> None:
        self.add(f"[trainshed] {text}\n", output=False)

    def _cut(self, *, force: bool) -> list[str]:
        """The buffer's text as chunks to send, each ending at a line's end (\\n or \\r: the server
        redacts chunk by chunk, so a secret must not be split across two) and none longer than
        LOG_CHUNK_MAX. A line not yet ended stays in the buffer unless `force` or too long."""
        text = "".join(self.buffer)
        end = len(text) if force else max(text.rfind("\n"), text.rfind("\r")) + 1
        if end == 0 and len(text) >= LOG_CHUNK_MAX:
            end = LOG_CHUNK_MAX
        chunks, start = [], 0
        while end - start > LOG_CHUNK_MAX:
            window = text[start:start + LOG_CHUNK_MAX]
            cut = max(window.rfind("\n"), window.rfind("\r")) + 1 or LOG_CHUNK_MAX
            chunks.append(window[:cut])
            start += cut
        if end > start:
            chunks.append(text[start:end])
        self.buffer = [text[end:]] if end < len(text) else []
        self.size = len(text) - end
        return chunks

    def flush(self, *, force: bool = False, retry_for: float | None = 0) -> None:
        # Two locks: the buffer's is held only to cut it, so the reader keeps draining the
        # command's pipe while a chunk is on its way (the command is not held up by the server);
        # the sender's keeps chunks numbered and sent in order, one request at a time.
        with self.send_lock:
            with self.lock:
                late = time.monotonic() - self.flushed_at >= LOG_FLUSH_SECONDS
                # The run's first output goes at once (someone is watching the job start); then in
                # batches, at most LOG_FLUSH_SECONDS late.
                first = self.output_read and not self.output_sent
                due = force or self.size >= LOG_FLUSH_BYTES or late or first
                if self.buffer and due:
                    for text in self._cut(force=force):
                        seq = (self.pending[-1][0] if self.pending else self.acked) + 1
                        self.pending.append((seq, text))
                        self.output_sent = self.output_read
                self.flushed_at = time.monotonic() if due else self.flushed_at
            for seq, text in list(self.pending):
                try:
                    answer = self.control.call("POST", self.path, json={"seq": seq, "text": text},
                                               retry_for=retry_for)
                except ConnectionError:
                    return  # kept: sent again at the next flush
                except Refused as exc:  # not this chunk (it cannot be stored): the job goes on
                    logger.warning("log chunk %s of job %s refused: %s", seq, self.path, exc)
                    answer = {"acked": seq}
                self.acked = max(self.acked, answer["acked"])
                self.pending = [(s, t) for s, t in self.pending if s > self.acked]


def _outside(spec: sandbox.SandboxSpec) -> sandbox.SandboxSpec:
    """The spec for a job run without a sandbox: /workspace is the real folder."""
    real = str(spec.workspace)
    spec.argv = [a.replace("cd /workspace", f"cd {shlex.quote(real)}", 1) for a in spec.argv]
    spec.env = {k: (real + v[len("/workspace"):] if v.startswith("/workspace") else v)
                for k, v in spec.env.items()}
    return spec


class JobRun:
    """Runs one claimed job to its end. `run()` blocks; `stop_now` is set by the agent stopping."""

    def __init__(self, spec: dict, *, control: Control, settings: Settings, agent_stopping: threading.Event,
                 can_sandbox: bool, slot: int = 0):
        self.spec, self.control, self.settings = spec, control, settings
        self.job_id = str(spec["job_id"])
        self.agent_stopping = agent_stopping
        self.can_sandbox = can_sandbox
        self.slot = slot
        self.workspace = settings.workdir / "jobs" / self.job_id
        self.log = Log(control, self.job_id, spec.get("log_seq", 0))
        self.box: sandbox.Sandbox | None = None
        self.notebook_token = secrets.token_urlsafe(24) if spec["type"] == "notebook" else ""
        # When the claim's answer came (wall clock) and, after it, each step of the start (seconds).
        self.claimed_at = time.time()
        self.steps: dict[str, float] = {}

    # -- what the proxy needs ------------------------------------------------------------------
    def notebook_target(self) -> tuple[int, str] | None:
        if self.box is None or not self.box.host_port or not self.notebook_token:
            return None
        return self.box.host_port, self.notebook_token

    # -- preparing -----------------------------------------------------------------------------
    def prepare(self) -> None:
        ws = self.workspace
        ws.mkdir(parents=True, exist_ok=True)
        (ws / "output").mkdir(exist_ok=True)
        inputs = ws / "input"
        remove_workspace(inputs)
        inputs.mkdir()
        for item in self.spec["inputs"]:
            into = inputs / item["mount"]
            into.mkdir(parents=True, exist_ok=True)
            for f in item["files"]:
                target = (into / f["path"]).resolve()
                if into.resolve() not in target.parents:
                    raise JobFailed(f"The input “{item['name']}” holds an unsafe file name.")
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    self.control.download(f"/jobs/{self.job_id}/inputs/{item['id']}", out,
                                          params={"path": f["path"]})
        for root, dirs, files in os.walk(inputs, topdown=False):
            for name in files:
                os.chmod(os.path.join(root, name), 0o444)
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o555)  # noqa: S103 (read-only)
        for relative, content in self.spec["files"].items():
            path = (ws / relative).resolve()
            if ws.resolve() not in path.parents:
                continue
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(content)

    def _remove_key_files(self) -> None:
        """The project's key files live only while the job runs (a removed key must not linger)."""
        for relative in self.spec["files"]:
            path = (self.workspace / relative).resolve()
            if self.workspace.resolve() in path.parents:
                path.unlink(missing_ok=True)

    def jupyter_argv(self) -> list[str]:
        configured = self.settings.jupyter_command.strip()
        base = shlex.split(configured) if configured else [sys.executable, "-m", "jupyterlab"]
        if not configured:
            import importlib.util

            if importlib.util.find_spec("jupyterlab") is None:
                raise JobFailed("JupyterLab is not installed beside this node's agent: install it "
                                "(pip install jupyterlab) or set TRAINSHED_JUPYTER_COMMAND.")
        return [*base, "--no-browser", "--ServerApp.ip=0.0.0.0", f"--ServerApp.port={NOTEBOOK_PORT}",
                "--ServerApp.port_retries=0", f"--ServerApp.base_url=/notebook/{self.job_id}/",
                "--ServerApp.root_dir=/workspace", "--ServerApp.allow_remote_access=True"]

    def argv(self) -> list[str]:
        script = "cd /workspace\n" + (self.spec["command"] or "")
        if self.spec["type"] == "notebook":
            script += "\nexec " + shlex.join(self.jupyter_argv())
        return ["/bin/sh", "-e", "-c", script]

    def sandbox_spec(self) -> sandbox.SandboxSpec:
        env = dict(self.spec["env"])
        if self.notebook_token:
            env["JUPYTER_TOKEN"] = self.notebook_token  # never in process arguments
        port = NOTEBOOK_PORT if self.spec["type"] == "notebook" else self.spec.get("port")
        ro = sandbox.default_read_only_paths()
        ro += [p for p in self.settings.read_only_paths if p not in ro]
        return sandbox.SandboxSpec(
            job_id=self.job_id, argv=self.argv(), env=env, workspace=self.workspace,
            inputs=[sandbox.Mount(host=self.workspace / "input", inside="/workspace/input")],
            gpu_indices=list(self.spec["gpu_indices"]), memory_bytes=self.settings.memory_bytes,
            max_processes=self.settings.max_processes, port=port, network=self.settings.network,
            read_only_paths=ro, device_dir=self.settings.device_dir,
            uid=sandbox.job_uid(self.slot) if os.geteuid() == 0 else None,
        )

    # -- running -------------------------------------------------------------------------------
    def run(self) -> str:
        """Run the job to its end and report it; returns the status reported."""
        try:
            status, reason, code = self._run()
        except TokenRefused:
            if self.box is not None:
                self.box.stop(self.settings.kill_grace_seconds)
            raise
        except Gone:
            if self.box is not None:
                self.box.stop(self.settings.kill_grace_seconds)
            return "gone"
        except Exception as exc:  # a fault of the agent's own: the job ends failed, not running for ever
            logger.exception("job %s", self.job_id)
            if self.box is not None:
                self.box.stop(self.settings.kill_grace_seconds)
            status, reason, code = "failed", f"The node's agent failed while running the job: {exc}", None
            self.log.note(reason)
        finally:
            if self.box is not None:
                self.box.cleanup()
            self._remove_key_files()
        self.log.flush(force=True, retry_for=None)
        # One line a run: how long its start took, step by step (bench/jobs.py reads it too).
        logger.info("job %s %s: claim answered at %.3f, then %s", self.job_id, status, self.claimed_at,
                    ", ".join(f"{name} +{seconds * 1000:.1f} ms" for name, seconds in self.steps.items()))
        payload = {"status": status, "exit_code": code, "reason": reason}
        try:
            self.control.call("POST", f"/jobs/{self.job_id}/end", json=payload, retry_for=None)
        except Gone:
            return "gone"
        return status

    def _step(self, name: str) -> None:
        self.steps[name] = time.time() - self.claimed_at

    def _start(self) -> sandbox.Sandbox:
        spec = self.sandbox_spec()
        if self.can_sandbox:
            return sandbox.start(spec)
        if self.spec.get("owner_job"):
            self.log.note("This node cannot sandbox jobs: the job runs unsandboxed (the node's owner's "
                          "own job).")
            return sandbox.start_unsandboxed(_outside(spec))
        raise JobFailed("This node cannot sandbox jobs, so it runs only its owner's own jobs.")

    def _run(self) -> tuple[str, str, int | None]:
        try:
            self.prepare()
            self._step("workspace ready")
            self.box = self._start()
            self._step("started")
        except JobFailed as exc:
            self.log.note(str(exc))
            return "failed", str(exc), None
        except (OSError, ValueError, sandbox.SandboxError) as exc:  # e.g. a GPU's device node is missing
            logger.exception("job %s could not start", self.job_id)
            self.log.note(f"The job could not start: {exc}")
            return "failed", f"The job could not start: {exc}", None
        if self.box.limits_note and "through cgroups" not in self.box.limits_note:
            # The node's limits could not be applied as configured: say so where the job's owner looks.
            self.log.note(f"Limits on this node: {self.box.limits_note}.")
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        outcome = self._supervise()
        self._step("exit seen")
        reader.join(timeout=5)
        # The last lines go out now, not after the sandbox's clean-up and the output's upload
        # (a follower sees the end when the job ends); what fails here goes with the final flush.
        self.log.flush(force=True, retry_for=0)
        self._step("last output sent")
        status, reason, code = outcome
        if status == "finished" and self.spec["output_model"]:
            status, reason = self._send_output()
        return status, reason, code

    def _read(self) -> None:
        stream = self.box.stdout
        decoder = io.IncrementalNewlineDecoder(None, translate=False)
        try:
            while chunk := stream.read1(64 * 1024) if hasattr(stream, "read1") else stream.read(64 * 1024):
                if not self.log.output_read:
                    self._step("first output read")
                self.log.add(decoder.decode(chunk.decode("utf-8", errors="replace")))
        except (OSError, ValueError):
            pass
        self._step("output ended")
        self.log.due.set()  # the end of its output: the job's loop looks at once whether it ended

    def _supervise(self) -> tuple[str, str, int | None]:
        beat_every = min(float(self.spec.get("heartbeat_seconds") or 10), self.settings.poll_seconds)
        # The claim counted as the run's first heartbeat: the first request of a run is its first
        # output. An endpoint beats at once, with the address it answers on.
        next_beat = 0.0 if self.spec["type"] == "endpoint" else time.monotonic() + beat_every
        next_disk = time.monotonic() + self.settings.disk_check_seconds
        limit = self.spec["disk_gb"] * BYTES_PER_GB
        while True:
            code = self.box.poll()
            if code is not None:
                self.box.wait()
                hit = self.box.limit_hit()
                if hit:
                    self.log.note(hit)
                    return "failed", hit, code
                if code == 0:
                    return "finished", "", 0
                self.log.note(f"The command exited with code {code}.")
                return "failed", f"The command exited with code {code}.", code
            now = time.monotonic()
            self.log.due.clear()  # before the flush: output read after it wakes the wait below
            self.log.flush()
            if now >= next_beat:
                next_beat = now + beat_every
                address = None
                if self.spec["type"] == "endpoint" and self.box.host_port:
                    address = f"{self.settings.public_host}:{self.box.host_port}"
                try:
                    answer = self.control.call("POST", f"/jobs/{self.job_id}/heartbeat",
                                               json={"address": address}, retry_for=0)
                except ConnectionError:
                    answer = None  # a blip: the job keeps running, the next beat tries again
                if answer and answer["stop"]:
                    reason = answer.get("reason") or "Stop requested"
                    self.log.note(f"Stopping: {reason}.")
                    code = self.box.stop(self.settings.kill_grace_seconds)
                    return "stopped", reason, code
            if now >= next_disk:
                next_disk = now + self.settings.disk_check_seconds
                used = workspace_bytes(self.workspace)
                if used > limit:
                    why = (f"The job's files reached {used / BYTES_PER_GB:.1f} GB, over its disk size of "
                           f"{self.spec['disk_gb']} GB.")
                    self.log.note(f"{why} It was stopped.")
                    return "failed", why, self.box.stop(self.settings.kill_grace_seconds)
            if self.agent_stopping.is_set():
                self.log.note("The node's agent is stopping: the job is stopped.")
                code = self.box.stop(self.settings.kill_grace_seconds)
                reason = "The agent running this job was stopped (shutdown or restart)."
                if self.spec["type"] in ("notebook", "endpoint"):
                    return "stopped", reason + " Start it again.", code
                return "failed", reason, code
            self.log.due.wait(0.05)  # the job's end is seen within 0.05 s; its first line at once

    def _send_output(self) -> tuple[str, str]:
        folder = self.workspace / "output"
        spool = self.workspace.parent / f".{self.job_id}-output.tar"
        try:
            with tarfile.open(spool, "w") as tar:
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.is_symlink():
                        tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
            with open(spool, "rb") as archive:
                answer = self.control.call(
                    "POST", f"/jobs/{self.job_id}/output", retry_for=300,
                    files={"archive": ("output.tar", archive, "application/x-tar")})
        except Refused as exc:
            self.log.note(f"No model was saved: {exc}")
            return "failed", f"The command succeeded but no model was saved: {exc}"
        except (OSError, ConnectionError) as exc:
            self.log.note(f"No model was saved: {exc}")
            return "failed", f"The command succeeded but no model was saved: {exc}"
        finally:
            spool.unlink(missing_ok=True)
        self.log.note(f"Saved output/ as the model “{answer['name']}” ({answer['file_count']} file(s)).")
        return "finished", ""
