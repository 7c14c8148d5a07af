"""What the worker does with a job on its node (called by the `run_job` task).

1. Claim it (starting -> running, a new JobRun); anything else (stopped or removed meanwhile,
   another worker) is skipped.
2. Prepare the workspace `<node storage>/jobs/<id>/`: `input/datasets/<name>/`, `input/model/`
   (copies, read-only), `output/`.
3. Run the command(s) with `sh -e` in a new process group (notebooks: `exec` JupyterLab at the
   end), with a clean environment: PATH, HOME, the job's variables, the project's keys, and
   CUDA_VISIBLE_DEVICES for the GPUs it got. stdout and stderr go to the job's log.
4. While it runs: heartbeat every TRAINSHED_JOB_HEARTBEAT_SECONDS, check for a stop request every
   TRAINSHED_JOB_POLL_SECONDS, and every TRAINSHED_JOB_DISK_CHECK_SECONDS that the workspace's
   files stay within the job's disk size (a job over it fails with the reason); on a stop (or the
   worker itself being stopped) terminate the process group, then kill it after
   TRAINSHED_JOB_KILL_GRACE_SECONDS.
5. Record the outcome: finished (and output/ saved as a model), failed with the exit code, or
   stopped; the run ends and the GPUs are freed.

A runner that dies without step 5 leaves a stale heartbeat: `jobs_reap` fails the job.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils.text import slugify

from compute.models import BYTES_PER_GB
from projects.keys import job_environment
from resources import storage
from resources.jobs import services
from resources.models import Job, JobOutput, JobStatus, JobType

logger = logging.getLogger(__name__)

LOG_FLUSH_SECONDS = 0.5
LOG_FLUSH_BYTES = 64 * 1024
NO_JUPYTER = ("JupyterLab is not installed on node {node}: install the `run` extra "
              "(pip install -e '.[run]'), or set TRAINSHED_JUPYTER_COMMAND.")


class StartError(Exception):
    """The job cannot start; the message is shown on the job page."""


def jupyter_argv(*, port: int, token: str, root: Path) -> list[str]:
    configured = settings.TRAINSHED_JUPYTER_COMMAND.strip()
    if configured:
        base = shlex.split(configured)
        if shutil.which(base[0]) is None and not Path(base[0]).exists():
            raise StartError(NO_JUPYTER.format(node=socket.gethostname()))
    else:
        if importlib.util.find_spec("jupyterlab") is None:
            raise StartError(NO_JUPYTER.format(node=socket.gethostname()))
        base = [sys.executable, "-m", "jupyterlab"]
    argv = [
        *base, "--no-browser", f"--ServerApp.ip={settings.TRAINSHED_JOB_BIND_HOST}",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]
    if not configured and os.geteuid() == 0:
        # A worker running as root (containers, single-user machines): JupyterLab refuses to
        # start as root unless told it may; the per-job token still guards it.
        argv.append("--allow-root")
    return argv


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((settings.TRAINSHED_JOB_BIND_HOST, 0))
        return s.getsockname()[1]


def _copy_stored(resource, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for row in resource.files.all():
        target = into / row.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with storage.open_file(resource.storage_prefix, row.path, resource.file_storage) as src, \
                open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, storage.CHUNK)


def _read_only(folder: Path) -> None:
    for root, dirs, files in os.walk(folder, topdown=False):
        for f in files:
            os.chmod(os.path.join(root, f), 0o444)
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o555)  # noqa: S103 (read-only)
    os.chmod(folder, 0o555)  # noqa: S103 (read-only)


def prepare_workspace(job: Job) -> Path:
    """The workspace with fresh inputs (read-only) and an output/ folder (kept across restarts)."""
    workspace = services.workspace_path(job)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "output").mkdir(exist_ok=True)
    inputs = workspace / "input"
    if inputs.exists():
        for root, dirs, _files in os.walk(inputs):
            os.chmod(root, 0o755)  # noqa: S103
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)  # noqa: S103
        shutil.rmtree(inputs)
    inputs.mkdir()
    used: set[str] = set()
    for dataset in job.input_datasets.all().order_by("name"):
        name = slugify(dataset.name) or str(dataset.pk)
        if name in used:
            name = f"{name}-{str(dataset.pk)[:8]}"
        used.add(name)
        _copy_stored(dataset, inputs / "datasets" / name)
    if job.input_model_id:
        _copy_stored(job.input_model, inputs / "model")
    _read_only(inputs)
    return workspace


def job_env(job: Job, workspace: Path) -> dict[str, str]:
    """A clean environment: nothing of the server's own (no database URL, no Fernet keys)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(workspace),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(job.env or {})
    env.update(job_environment(project=job.project, workspace=workspace))
    env.update({
        "CUDA_VISIBLE_DEVICES": "" if job.gpu_type.slug == "cpu" else job.gpu_indices,
        "TRAINSHED_JOB_ID": str(job.pk),
        "TRAINSHED_JOB_NAME": job.name,
        "TRAINSHED_PROJECT_ID": str(job.project_id),
        "TRAINSHED_WORKSPACE": str(workspace),
        "TRAINSHED_INPUT_DIR": str(workspace / "input"),
        "TRAINSHED_OUTPUT_DIR": str(workspace / "output"),
    })
    if job.port:
        env["PORT"] = str(job.port)
    return env


def job_argv(job: Job, workspace: Path) -> list[str]:
    script = "cd \"$TRAINSHED_WORKSPACE\"\n" + (job.command or "")
    if job.type == JobType.NOTEBOOK:
        script += "\nexec " + shlex.join(jupyter_argv(port=job.port, token=job.token, root=workspace))
    return ["/bin/sh", "-e", "-c", script]


class _Output:
    """Reads the process's output on a thread (no database there) into a queue of lines."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        try:
            for raw in iter(stream.readline, b""):
                self.lines.put(raw.decode("utf-8", errors="replace"))
        finally:
            stream.close()

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out


class _Log:
    def __init__(self, job: Job):
        self.job = job
        self.seq = job.log_chunks.order_by("-seq").values_list("seq", flat=True).first() or 0
        self.buffer: list[str] = []
        self.size = 0
        self.flushed_at = time.monotonic()
        self.truncated = False

    def add(self, lines: list[str]) -> None:
        self.buffer.extend(lines)
        self.size += sum(len(x) for x in lines)

    def note(self, text: str) -> None:
        self.add([f"[trainshed] {text}\n"])

    def flush(self, *, force: bool = False) -> None:
        if not self.buffer:
            return
        recent = time.monotonic() - self.flushed_at < LOG_FLUSH_SECONDS
        if not force and self.size < LOG_FLUSH_BYTES and recent:
            return
        text = "".join(self.buffer)
        if self.truncated:
            self.buffer, self.size = [], 0
            return
        room = settings.TRAINSHED_JOB_LOG_MAX_BYTES - self.job.log_bytes
        truncated = len(text.encode()) > room
        if truncated:
            text = text.encode()[: max(0, room)].decode("utf-8", errors="ignore")
            text += "\n[trainshed] The log reached its size limit; later output is not kept.\n"
        services.run_log_append(job=self.job, seq=self.seq + 1, text=text)
        # Only once written: a failed write keeps the lines for the next try.
        self.seq += 1
        self.truncated = truncated
        self.buffer, self.size, self.flushed_at = [], 0, time.monotonic()


class _StopSignal:
    """While a job runs in the worker's main thread, SIGTERM/SIGINT (the worker being stopped)
    end the job cleanly instead of leaving its process orphaned. The worker's own handler still
    runs, so it exits after this task."""

    def __init__(self):
        self.received = False
        self.previous: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = True
        previous = self.previous.get(signum)
        if callable(previous):
            # a second signal makes the worker exit: we end the job first, it exits after
            with contextlib.suppress(SystemExit):
                previous(signum, frame)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _terminate(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        return
    try:
        proc.wait(timeout=settings.TRAINSHED_JOB_KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_job(job_id: str) -> str:
    """Run one job to its end on this node. Returns its final status (or "skipped")."""
    port = token = None
    peek = Job.objects.filter(pk=job_id).values_list("type", "port").first()
    if peek is None:
        return "skipped"
    if peek[0] == JobType.NOTEBOOK:
        port, token = free_port(), services.new_token()
    job = services.run_claim(job_id=job_id, port=port, token=token or "")
    if job is None:
        return "skipped"
    log = _Log(job)
    try:
        workspace = prepare_workspace(job)
        env = job_env(job, workspace)
        argv = job_argv(job, workspace)
    except StartError as exc:
        services.run_fail_before_start(job=job, reason=str(exc))
        return JobStatus.FAILED
    except Exception as exc:
        logger.exception("job %s could not start", job_id)
        services.run_fail_before_start(job=job, reason=f"The job could not start: {exc}")
        return JobStatus.FAILED
    try:
        proc = subprocess.Popen(
            argv, cwd=workspace, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    except OSError as exc:
        services.run_fail_before_start(job=job, reason=f"The command could not start: {exc}")
        return JobStatus.FAILED
    services.run_pid(job=job, pid=proc.pid)
    output = _Output(proc.stdout)
    status, reason, code = JobStatus.FAILED, "", None
    with _StopSignal() as worker_signal:
        try:
            status, reason, code = _supervise(job, proc, output, log, worker_signal, workspace)
        except BaseException:
            _terminate(proc)
            log.note("The worker failed while the job ran.")
            status, reason, code = JobStatus.FAILED, "The worker failed while the job ran.", proc.returncode
            raise
        finally:
            output.thread.join(timeout=2)
            log.add(output.drain())
            try:
                if status == JobStatus.FINISHED and job.output_type == JobOutput.MODEL:
                    status, reason = _save_model(job, workspace, log)
                log.flush(force=True)
            finally:
                services.run_end(job=job, status=status, reason=reason, exit_code=code)
    return status


def workspace_bytes(path: Path) -> int:
    """The size of every file under `path` (apparent sizes, so a sparse file counts in full;
    links are not followed)."""
    total, folders = 0, [path]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:  # gone, or not readable: nothing of it to count
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


def _over_disk(job, workspace: Path) -> str:
    """Why the job must stop for its disk size ("" while its files fit)."""
    used = workspace_bytes(workspace)
    if used <= job.disk_gb * BYTES_PER_GB:
        return ""
    return (f"The job's files reached {used / BYTES_PER_GB:.1f} GB, over its disk size of "
            f"{job.disk_gb} GB.")


def _supervise(job, proc, output, log, worker_signal, workspace: Path) -> tuple[str, str, int | None]:
    heartbeat_every = settings.TRAINSHED_JOB_HEARTBEAT_SECONDS
    poll_every = settings.TRAINSHED_JOB_POLL_SECONDS
    disk_every = settings.TRAINSHED_JOB_DISK_CHECK_SECONDS
    next_beat = time.monotonic() + heartbeat_every
    next_poll = time.monotonic() + poll_every
    next_disk = time.monotonic() + disk_every
    while True:
        log.add(output.drain())
        if proc.poll() is not None:
            output.thread.join(timeout=2)
            log.add(output.drain())
            code = proc.returncode
            if code == 0:
                return JobStatus.FINISHED, "", 0
            log.note(f"The command exited with code {code}.")
            return JobStatus.FAILED, f"The command exited with code {code}.", code
        now = time.monotonic()
        stop = False
        try:
            log.flush()
            if now >= next_beat:
                stop, _ = services.run_heartbeat(job=job)
                next_beat = now + heartbeat_every
            elif now >= next_poll:
                stop, _ = services.run_should_stop(job=job)
                next_poll = now + poll_every
        except DatabaseError as exc:  # a blip must not end the job: the next tick tries again
            logger.warning("job %s: the database did not answer (%s); trying again", job.pk, exc)
            close_old_connections()
        if now >= next_disk:
            next_disk = now + disk_every
            over = _over_disk(job, workspace)
            if over:
                log.note(f"{over} It was stopped.")
                _terminate(proc)
                return JobStatus.FAILED, over, proc.returncode
        if worker_signal.received:
            log.note("The worker is stopping: the job is stopped.")
            _terminate(proc)
            reason = "The worker running this job was stopped (shutdown or restart)."
            if job.type in (JobType.NOTEBOOK, JobType.ENDPOINT):
                return JobStatus.STOPPED, reason + " Start it again.", proc.returncode
            return JobStatus.FAILED, reason, proc.returncode
        if stop:
            job.refresh_from_db(fields=["status_reason"])
            log.note(f"Stopping: {job.status_reason or 'stop requested'}.")
            _terminate(proc)
            return JobStatus.STOPPED, job.status_reason or "Stopped", proc.returncode
        time.sleep(0.1)


def _save_model(job: Job, workspace: Path, log: _Log) -> tuple[str, str]:
    try:
        model = services.run_save_output_model(job=job, folder=workspace / "output")
    except Exception as exc:
        from django.core.exceptions import ValidationError

        why = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        log.note(f"No model was saved: {why}")
        return JobStatus.FAILED, f"The command succeeded but no model was saved: {why}"
    log.note(f"Saved output/ as the model “{model.name}” ({model.file_count} file(s)).")
    return JobStatus.FINISHED, ""
