"""`trainshed-agent`: the one process a compute node runs.

It knows the control plane's URL and its node's token, nothing else of the server (no database,
no signing key, no encryption key). It heartbeats with what it measures, claims the jobs placed on
its node and runs each in a sandbox (trainshed.agent.jobs), serves its notebooks and its stored
files (trainshed.agent.relay), and stops every job and itself when its token is refused.

Configuration is its environment (or the matching --options):

    TRAINSHED_AGENT_URL      the control plane, e.g. https://trainshed.example.com
    TRAINSHED_AGENT_TOKEN    the node's token (or TRAINSHED_AGENT_TOKEN_FILE: a file holding it)
    TRAINSHED_AGENT_DIR      where workspaces and stored files live (default ~/.trainshed-agent)
    TRAINSHED_AGENT_LISTEN   host:port its notebook proxy and file relay listen on (127.0.0.1:0)
    TRAINSHED_AGENT_PUBLIC_URL   how browsers and the control plane reach that (default: http://LISTEN)
    TRAINSHED_AGENT_NETWORK  internet (default: outbound only, no host loopback), none, or host
    TRAINSHED_AGENT_READ_ONLY_PATHS  more host folders jobs see read-only (":"-separated)
    TRAINSHED_AGENT_MEMORY_GB, TRAINSHED_AGENT_MAX_PROCESSES   per-job limits (cgroups where offered)
    TRAINSHED_AGENT_CAPACITY_GB  storage offered to the control plane (default: the disk's size)
    TRAINSHED_AGENT_CLAIM_WAIT_SECONDS  how long each claim waits on the control plane for a job
                                   to be placed (default 20; 0: poll every CLAIM_SECONDS instead)
    TRAINSHED_AGENT_CLAIM_SECONDS  the pause between claims when not waiting, or after a failure (default 1)
    TRAINSHED_AGENT_TIMEOUT  seconds one request to the control plane may take before it is
                             retried (default 30; connecting: at most 10)
    TRAINSHED_JUPYTER_COMMAND    the command notebooks start (default: python -m jupyterlab)
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from trainshed.agent import sandbox
from trainshed.agent.control import Control, Gone, Refused, TokenRefused
from trainshed.agent.jobs import JobRun, Settings, remove_workspace

logger = logging.getLogger("trainshed.agent")


class Interrupted(Exception):
    """Raised by the SIGTERM handler out of a waiting claim."""


class Agent:
    def __init__(self, *, url: str, token: str, settings: Settings, listen: str = "127.0.0.1:0",
                 public_url: str = "", capacity_gb: int | None = None,
                 transport: httpx.BaseTransport | None = None, serve: bool = True, timeout: float = 30.0):
        self.stopping = threading.Event()
        self.waiting = False  # in a claim that waits on the control plane (SIGTERM interrupts it)
        self.control = Control(url, token, transport=transport, stopping=self.stopping, timeout=timeout)
        self.settings = settings
        self.settings.workdir.mkdir(parents=True, exist_ok=True)
        (self.settings.workdir / "jobs").mkdir(exist_ok=True)
        (self.settings.workdir / "files").mkdir(exist_ok=True)
        self.capacity_gb = capacity_gb
        self.can_sandbox, self.sandbox_reason = sandbox.check()
        self.runs: dict[str, JobRun] = {}
        self.threads: dict[str, threading.Thread] = {}
        self.lock = threading.Lock()
        self.relay_secret: bytes | None = None
        self.heartbeat_seconds = 30.0
        self.refused = ""
        self.relay = None
        self.public_url = public_url
        if serve:
            self._start_relay(listen)

    # -- the proxy and file relay ----------------------------------------------------------------
    def _start_relay(self, listen: str) -> None:
        try:
            from trainshed.agent.relay import RelayServer
        except ImportError:  # pragma: no cover - shipped together
            return
        host, _, port = listen.rpartition(":")
        self.relay = RelayServer(
            host=host or "127.0.0.1", port=int(port or 0), storage_root=self.settings.workdir / "files",
            secret=lambda: self.relay_secret, access_check=self._notebook_allowed,
            target_for=self._notebook_target,
        )
        self.relay.start()
        if not self.public_url:
            self.public_url = f"http://{host or '127.0.0.1'}:{self.relay.port}"
        self.settings.public_host = urlsplit(self.public_url).hostname or self.settings.public_host

    def _notebook_allowed(self, job_id: str, user_id: str) -> bool:
        try:
            answer = self.control.call("POST", "/notebook-access", retry_for=5,
                                       json={"job_id": job_id, "user_id": int(user_id)})
        except Exception:  # refused, unreachable or a malformed id: no access
            return False
        return bool(answer and answer.get("allowed"))

    def _notebook_target(self, job_id: str):
        run = self.runs.get(job_id)
        return run.notebook_target() if run is not None else None

    # -- heartbeat ---------------------------------------------------------------------------------
    def measure(self) -> dict:
        root = self.settings.workdir
        usage = shutil.disk_usage(root)
        capacity = self.capacity_gb if self.capacity_gb is not None else usage.total // 10**9
        return {
            "hostname": socket.gethostname(), "storage_path": str(root / "files"),
            "storage_capacity_gb": int(capacity), "storage_free_bytes": int(usage.free),
            "agent_url": self.public_url, "sandbox_ok": self.can_sandbox,
            "sandbox_reason": self.sandbox_reason,
        }

    def heartbeat(self, *, retry_for: float | None = 0) -> dict:
        answer = self.control.call("POST", "/heartbeat", json=self.measure(), retry_for=retry_for)
        self.relay_secret = answer["relay_secret"].encode() or None
        self.heartbeat_seconds = float(answer["heartbeat_seconds"])
        self._tidy(set(answer["keep_workspaces"]))
        return answer

    def adopt(self, answer: dict) -> list[JobRun]:
        """Jobs the control plane says this node claimed but that this agent does not run: the
        claim's answer was lost (e.g. a cut link); their spec again, to run now."""
        adopted = []
        for job_id in answer.get("unheard_claims", []):
            if job_id in self.runs:
                continue
            try:
                spec = self.control.call("GET", f"/jobs/{job_id}/spec", retry_for=0)
            except (Gone, Refused, ConnectionError):
                continue
            adopted.append(self._new_run(spec))
        return adopted

    def _tidy(self, keep: set[str]) -> None:
        """Delete the workspaces of jobs removed (or never this node's) that nothing runs in."""
        for path in (self.settings.workdir / "jobs").iterdir():
            if path.is_dir() and path.name not in keep and path.name not in self.runs:
                remove_workspace(path)

    # -- jobs --------------------------------------------------------------------------------------
    def claim(self, *, wait: float = 0) -> JobRun | None:
        """The next job placed on this node; with `wait`, the control plane holds the request up
        to that long until one is placed (a long-poll: the job starts when it is placed)."""
        if wait <= 0:
            spec = self.control.call("POST", "/claim", retry_for=0)
        else:
            self.waiting = True
            try:
                spec = self.control.call("POST", "/claim", retry_for=0, params={"wait": f"{wait:.1f}"},
                                         timeout=self.control.timeout + wait)
            finally:
                self.waiting = False
        return self._new_run(spec) if spec else None

    def _new_run(self, spec: dict) -> JobRun:
        with self.lock:
            slot = next(i for i in range(len(self.runs) + 1)
                        if i not in {r.slot for r in self.runs.values()})
            run = JobRun(spec, control=self.control, settings=self.settings,
                         agent_stopping=self.stopping, can_sandbox=self.can_sandbox, slot=slot)
            self.runs[run.job_id] = run
        return run

    def run_one(self, run: JobRun) -> str:
        try:
            return run.run()
        except TokenRefused as exc:
            self.refused = str(exc)
            self.stopping.set()
            return "refused"
        finally:
            with self.lock:
                self.runs.pop(run.job_id, None)

    def run_claimed(self) -> str | None:
        """Claim one job and run it to its end in this thread (the tests' way); None: nothing placed."""
        run = self.claim()
        return None if run is None else self.run_one(run)

    def _start_thread(self, run: JobRun) -> None:
        thread = threading.Thread(target=self.run_one, args=(run,), name=f"job-{run.job_id}", daemon=True)
        self.threads[run.job_id] = thread
        thread.start()

    def serve_forever(self, *, claim_every: float = 1.0, claim_wait: float = 0) -> int:
        """Until stopped (SIGTERM, Ctrl-C) or refused: heartbeats, claims, jobs in threads.
        With `claim_wait`, each claim waits on the control plane up to that long (and never past
        the next heartbeat) for a job to be placed; `claim_every` is then the pause after a failure."""
        next_beat = 0.0
        while not self.stopping.is_set():
            failed = False
            try:
                now = time.monotonic()
                if now >= next_beat:
                    for run in self.adopt(self.heartbeat(retry_for=0)):
                        self._start_thread(run)
                    next_beat = now + self.heartbeat_seconds
                wait = max(0.0, min(claim_wait, next_beat - time.monotonic()))
                while (run := self.claim(wait=wait)) is not None:
                    self._start_thread(run)
            except TokenRefused as exc:
                self.refused = str(exc)
                break
            except ConnectionError as exc:
                logger.warning("%s", exc)
                next_beat = 0.0  # beat again as soon as the control plane answers
                failed = True
            except Interrupted:
                break
            except Exception:
                logger.exception("agent loop")
                failed = True
            if failed or claim_wait <= 0:
                self.stopping.wait(claim_every)
        self.shutdown()
        if self.refused:
            logger.error("%s Stopping.", self.refused)
            return 3
        return 0

    def shutdown(self) -> None:
        self.stopping.set()
        for thread in list(self.threads.values()):
            thread.join(timeout=self.settings.kill_grace_seconds + 30)
        if not self.refused:
            try:
                self.control.stopping = threading.Event()  # one last call, not retried for ever
                self.control.call("POST", "/offline", retry_for=2)
            except Exception:  # noqa: S110 - going away anyway; the heartbeat goes stale
                pass
        if self.relay is not None:
            self.relay.stop()
        self.control.close()


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trainshed-agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=_env("TRAINSHED_AGENT_URL"))
    parser.add_argument("--token-file", default=_env("TRAINSHED_AGENT_TOKEN_FILE"))
    parser.add_argument("--dir", default=_env("TRAINSHED_AGENT_DIR", str(Path.home() / ".trainshed-agent")))
    parser.add_argument("--listen", default=_env("TRAINSHED_AGENT_LISTEN", "127.0.0.1:0"))
    parser.add_argument("--public-url", default=_env("TRAINSHED_AGENT_PUBLIC_URL"))
    parser.add_argument("--check", action="store_true",
                        help="say whether this node can sandbox jobs, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s agent %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request: failures only
    if args.check:
        ok, reason = sandbox.check()
        print(("sandbox: ok" if ok else "sandbox: unavailable") + (f" ({reason})" if reason else ""))
        return 0 if ok else 1
    token = _env("TRAINSHED_AGENT_TOKEN")
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
    if not args.url or not token:
        parser.error("give the control plane's URL and the node's token (TRAINSHED_AGENT_URL, "
                     "TRAINSHED_AGENT_TOKEN or TRAINSHED_AGENT_TOKEN_FILE)")
    os.environ.pop("TRAINSHED_AGENT_TOKEN", None)  # not inherited by anything it starts
    memory = _env("TRAINSHED_AGENT_MEMORY_GB")
    processes = _env("TRAINSHED_AGENT_MAX_PROCESSES")
    capacity = _env("TRAINSHED_AGENT_CAPACITY_GB")
    settings = Settings(
        workdir=Path(args.dir).resolve(),
        poll_seconds=float(_env("TRAINSHED_AGENT_POLL_SECONDS", "1")),
        disk_check_seconds=float(_env("TRAINSHED_JOB_DISK_CHECK_SECONDS", "30")),
        kill_grace_seconds=float(_env("TRAINSHED_JOB_KILL_GRACE_SECONDS", "5")),
        jupyter_command=_env("TRAINSHED_JUPYTER_COMMAND"),
        network=_env("TRAINSHED_AGENT_NETWORK", "internet"),
        read_only_paths=[p for p in _env("TRAINSHED_AGENT_READ_ONLY_PATHS").split(":") if p],
        device_dir=Path(_env("TRAINSHED_AGENT_DEVICE_DIR", "/dev")),
        memory_bytes=int(float(memory) * 10**9) if memory else None,
        max_processes=int(processes) if processes else None,
    )
    agent = Agent(url=args.url, token=token, settings=settings, listen=args.listen,
                  public_url=args.public_url, capacity_gb=int(capacity) if capacity else None,
                  timeout=float(_env("TRAINSHED_AGENT_TIMEOUT", "30")))
    if not agent.can_sandbox:
        logger.warning("This node cannot sandbox jobs (%s): it runs only its owner's jobs.",
                       agent.sandbox_reason)

    def stop(*_):
        agent.stopping.set()
        if agent.waiting:  # out of a claim that may wait 20 s more: stop now
            raise Interrupted

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("agent for %s, working in %s", args.url, settings.workdir)
    return agent.serve_forever(claim_every=float(_env("TRAINSHED_AGENT_CLAIM_SECONDS", "1")),
                               claim_wait=float(_env("TRAINSHED_AGENT_CLAIM_WAIT_SECONDS", "20")))


if __name__ == "__main__":
    sys.exit(main())
