#!/usr/bin/env python
"""Jobs benchmark: how long from Start to the command's first output line seen by the control
plane, against spawning the same command directly (a bare subprocess) and in the sandbox alone;
with and without the sandbox, step by step; the agent's log throughput (100,000 lines through the
node API); how far behind the job the CLI's `job logs --follow` of 100,000 lines ends; and how long a
line takes to show on the job's page, polled as the page polls it.

The control plane is gunicorn as README's production command runs it (gthread workers: an agent's
waiting claim and a follower's waiting log poll each hold a thread, not a worker) on PostgreSQL;
the node's agent is a real `trainshed-agent` process on this machine. Start is the `job_start`
service (what the Start button and the API call); "seen" is the first log chunk's `created_at` on
the server. Run with `make bench` (needs PostgreSQL on 127.0.0.1:5432). Prints figures and writes
bench/RESULTS.md; not a test."""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from settings_env import server_env  # bench/settings_env.py: this script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "trainshed_bench_jobs")
RUNS = int(os.environ.get("BENCH_JOB_RUNS", "10"))  # starts per configuration; medians are kept
LINES = 100_000
VAR = Path(tempfile.mkdtemp(prefix="trainshed-bench-jobs-"))
VAR.chmod(0o755)
PY = sys.executable
FIRST = "echo ready"  # the command whose first output line is timed
# 41-byte lines, 4.1 MB: under the server's 5 MB log limit
FLOOD = f"{PY} -c \"[print(f'line {{i:06d}} ' + 'x' * 28) for i in range({LINES})]\""
# PYTHONPATH passes to the agent and the CLI: another checkout's code run with this venv.
PASS = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
ENV = server_env(DB, VAR / "var")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median_range(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


# ---- the command alone ----------------------------------------------------------------------------


def bare_first_line() -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(["/bin/sh", "-e", "-c", FIRST], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait()
    proc.stdout.close()
    return elapsed


def sandbox_first_line(network: str, slot: int) -> float:
    from trainshed.agent import sandbox

    workspace = VAR / "sandbox" / f"{network}-{slot}"
    spec = sandbox.SandboxSpec(
        job_id=f"bench-{network}-{slot}", argv=["/bin/sh", "-e", "-c", f"cd /workspace\n{FIRST}"],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/workspace"}, workspace=workspace,
        network=network, uid=sandbox.job_uid(0) if os.geteuid() == 0 else None)
    t0 = time.perf_counter()
    box = sandbox.start(spec)
    box.stdout.readline()
    elapsed = time.perf_counter() - t0
    box.wait(30)
    box.cleanup()
    return elapsed


def bare_flood() -> float:
    """The log command alone, its output read through a pipe: how fast it produces."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/bin/sh", "-c", FLOOD], stdout=subprocess.PIPE, check=True)
    elapsed = time.perf_counter() - t0
    assert proc.stdout.count(b"\n") == LINES
    return elapsed


# ---- through the whole path -----------------------------------------------------------------------


def setup_django():
    for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True)
    os.environ.update(ENV)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_server(port: int) -> subprocess.Popen:
    import urllib.error
    import urllib.request

    gunicorn = shutil.which("gunicorn", path=str(Path(PY).parent)) or "gunicorn"
    proc = subprocess.Popen([gunicorn, "config.wsgi", "-k", "gthread", "-w", "3", "--threads", "8",
                             "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning"], cwd=ROOT, env={**os.environ, **ENV})
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/node/claim", timeout=5)
        except urllib.error.HTTPError:  # 405 or 401: it answers
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


class Agent:
    """A `trainshed-agent` process for a new node of `owner`'s, with `env` on top of its defaults."""

    count = 0

    def __init__(self, owner, url: str, **env):
        from django.utils import timezone

        from compute.models import ComputeNode, GpuType
        from compute.services import node_token_issue

        Agent.count += 1
        self.node = ComputeNode.objects.create(
            owner=owner, name=f"bench-{Agent.count}", gpu_type=GpuType.objects.get(slug="cpu"), gpu_count=4,
            storage_capacity_gb=100, status=ComputeNode.Status.ONLINE, last_heartbeat=timezone.now(),
            sandbox_ok=True)
        workdir = VAR / f"agent-{Agent.count}"
        self.log = open(VAR / f"agent-{Agent.count}.log", "wb")  # noqa: SIM115 (while it runs)
        self.proc = subprocess.Popen(
            [PY, "-m", "trainshed.agent.main"], stdout=self.log, stderr=subprocess.STDOUT,
            env={"PATH": os.environ["PATH"], **PASS, "HOME": str(workdir), "TRAINSHED_AGENT_URL": url,
                 "TRAINSHED_AGENT_TOKEN": node_token_issue(node=self.node, actor=None),
                 "TRAINSHED_AGENT_DIR": str(workdir), "TRAINSHED_AGENT_NETWORK": "none", **env})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()
        from compute.models import ComputeNode

        ComputeNode.objects.filter(pk=self.node.pk).update(status=ComputeNode.Status.OFFLINE)


def project_gpu_types_refresh(**kw):
    from compute.services import project_gpu_types_refresh

    project_gpu_types_refresh(**kw)


def run_job(project, owner, command: str, *, timeout=120.0):
    """Start a job; returns (Start time, the job once ended)."""
    from resources.jobs import services
    from resources.models import Job, JobStatus

    job = services.job_create(project=project, actor=owner, name="bench", type="training", gpu_type="cpu",
                              gpu_count=1, command=command)
    started = time.time()
    services.job_start(job=job, actor=owner)
    job.placed_at = time.time()  # job_start has returned: placed, and the agent's wake sent
    deadline = time.monotonic() + timeout
    ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED)
    while Job.objects.filter(pk=job.pk).values_list("status", flat=True).get() not in ended:
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job.pk} did not end in {timeout}s")
        time.sleep(0.05)
    placed_at = job.placed_at
    job.refresh_from_db()
    job.placed_at = placed_at
    if job.status != JobStatus.FINISHED:
        raise SystemExit(f"job {job.pk} {job.status}: {job.status_reason}")
    return started, job


RUN_LINE = re.compile(r"job (\S+) \w+: claim answered at ([\d.]+), then (.*)")


def agent_steps(log_path: Path) -> dict[str, tuple[float, dict[str, float]]]:
    """job id -> (when the claim's answer reached the agent, {step: seconds after it}), from the
    line the agent logs at each run's end."""
    out = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if m := RUN_LINE.search(line):
            steps = {name: float(ms) / 1000 for name, ms in re.findall(r"([a-z ]+) \+([\d.]+) ms", m[3])}
            out[m[1]] = (float(m[2]), {name.strip(): v for name, v in steps.items()})
    return out


STEPS = [  # (label, from, to): the moments of one start, in order
    ("Start → placed (the `job_start` service: checks, placement, commit)", "start", "placed"),
    ("→ the claim taken on the server (NOTIFY, the waiting claim's query)", "placed", "claimed"),
    ("→ the claim's answer at the agent", "claimed", "answered"),
    ("→ workspace ready (folders, inputs, key files)", "answered", "workspace ready"),
    ("→ the command started (sandbox, or a plain process)", "workspace ready", "started"),
    ("→ its first output read by the agent", "started", "first output read"),
    ("→ the first chunk stored on the server", "first output read", "seen"),
]


def start_latencies(project, owner, url: str, **env) -> tuple[list[float], list[dict[str, float]]]:
    """Start → seen of RUNS starts, and each start's moments (epoch seconds) for STEPS."""
    agent = Agent(owner, url, **env)
    project_gpu_types_refresh(project=project, actor=None)
    try:
        out, moments = [], []
        run_job(project, owner, FIRST)  # its first job warms the agent (imports, first sandbox)
        for _ in range(RUNS):
            time.sleep(random.uniform(0, 1.2))  # a start at any moment of the agent's claim interval or wait
            started, job = run_job(project, owner, FIRST)
            # the first chunk holding the command's line (an unsandboxed run's note comes before it)
            seen = next(at for at, text in job.log_chunks.order_by("seq").values_list("created_at", "text")
                        if "ready" in text)
            out.append(seen.timestamp() - started)
            moments.append({"start": started, "placed": job.placed_at, "claimed": job.started_at.timestamp(),
                            "seen": seen.timestamp(), "job": str(job.pk)})
    finally:
        agent.stop()
    steps = agent_steps(VAR / f"agent-{Agent.count}.log")
    for m in moments:
        answered, after = steps.get(m.pop("job"), (None, {}))
        if answered is not None:
            m["answered"] = answered
            m.update({name: answered + seconds for name, seconds in after.items()})
    return out, moments


def log_throughput(project, owner, url: str) -> tuple[float, int, int]:
    """(seconds from the first chunk stored to the last, chunks, bytes) for LINES lines."""
    agent = Agent(owner, url)
    project_gpu_types_refresh(project=project, actor=None)
    try:
        _, job = run_job(project, owner, FLOOD, timeout=600)
        chunks = list(job.log_chunks.order_by("seq").values_list("created_at", "text"))
        text = "".join(t for _, t in chunks)
        got = [line for line in text.splitlines() if line.startswith("line ")]
        assert len(got) == LINES and got[-1].startswith(f"line {LINES - 1:06d}"), len(got)
        return (chunks[-1][0] - chunks[0][0]).total_seconds(), len(chunks), len(text.encode())
    finally:
        agent.stop()


def api_env(owner, project, url: str) -> dict:
    from accounts.api_keys import api_key_create

    config = VAR / "cli"
    config.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], **PASS, "HOME": str(config), "TRAINSHED_CONFIG_DIR": str(config),
            "TRAINSHED_API_URL": url, "TRAINSHED_API_KEY": api_key_create(user=owner, name="bench")[1],
            "TRAINSHED_PROJECT": str(project.pk)}


# The last of LINES lines carries the moment the command wrote it.
FOLLOWED = (f"{PY} -c \"import time; [print(f'line {{i:06d}} ' + 'x' * 28) for i in range({LINES - 1})]; "
            "print('last', time.time(), flush=True)\"")


# The same, its output starting 1.5 s after the command starts: the CLI is up and following when
# the lines come (the figure above also holds the CLI's own start and its catching up).
FOLLOWED_LATE = FOLLOWED.replace('-c "import time; ', '-c "import time; time.sleep(1.5); ')


def started_and_followed(project, owner, url: str, name: str, command: str):
    """After a warm-up job, a job of `command` started, and `trainshed job logs ID --follow` on it:
    (the job, the CLI's process with its output on a pipe)."""
    from resources.jobs import services

    run_job(project, owner, FIRST)  # warm
    job = services.job_create(project=project, actor=owner, name=name, type="training",
                              gpu_type="cpu", gpu_count=1, command=command)
    services.job_start(job=job, actor=owner)
    cli = shutil.which("trainshed", path=str(Path(PY).parent)) or "trainshed"
    proc = subprocess.Popen([cli, "job", "logs", str(job.pk), "--follow"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=api_env(owner, project, url))
    return job, proc


def follow_lag(project, owner, url: str, command: str = FOLLOWED) -> tuple[float, float, dict[str, float]]:
    """`trainshed job logs ID --follow` started with the job: (seconds from the command writing
    its last line to the CLI printing it, seconds from the CLI printing the first line to the
    command writing its last, the moments of FOLLOW_STEPS in epoch seconds)."""
    from resources.models import Job, JobStatus

    agent = Agent(owner, url)
    agent_log = VAR / f"agent-{Agent.count}.log"
    project_gpu_types_refresh(project=project, actor=None)
    try:
        job, proc = started_and_followed(project, owner, url, "follow", command)
        first = last = None
        for line in proc.stdout:
            if first is None and line.startswith(b"line "):
                first = time.time()
            if line.startswith(b"last "):
                last = time.time(), float(line.split()[1])
        proc.wait(60)
        assert last is not None, "the follower never printed the last line"
        assert Job.objects.get(pk=job.pk).status == JobStatus.FINISHED
    finally:
        agent.stop()
    stored = next(at for at, text in job.log_chunks.order_by("-seq").values_list("created_at", "text")
                  if "\nlast " in text or text.startswith("last "))
    moments = {"written": last[1], "stored": stored.timestamp(), "printed": last[0]}
    answered, after = agent_steps(agent_log).get(str(job.pk), (None, {}))
    if answered is not None:
        moments.update({name: answered + seconds for name, seconds in after.items()})
    return last[0] - last[1], last[1] - first, moments


FOLLOW_STEPS = [  # (label, from, to): where the last line's lag goes (agent's, server's, CLI's clocks: one)
    ("the command's last line written → its output's end read by the agent", "written", "output ended"),
    ("→ the command's exit seen by the agent", "output ended", "exit seen"),
    ("→ the last chunk stored on the server (its row's time)", "exit seen", "stored"),
    ("→ the agent's last send answered", "stored", "last output sent"),
    ("last chunk stored → printed by the CLI", "stored", "printed"),
]


def follow_rows(follows) -> list[str]:
    rows = ["| step of the last line (median, min–max) | |", "| --- | ---: |"]
    for name, frm, to in FOLLOW_STEPS:
        values = [m[to] - m[frm] for _, _, m in follows if frm in m and to in m]
        if values:
            med, lo, hi = median_range(values)
            rows.append(f"| {name} | {med * 1000:.0f} ms ({lo * 1000:.0f}–{hi * 1000:.0f}) |")
    return rows


def follow_main(runs: int) -> None:
    """`bench/jobs.py follow [N]`: only the follow phase, N times (prints; writes nothing)."""
    setup_django()
    from accounts.services import user_create
    from billing import services as billing_services
    from billing.models import BillingAccount
    from projects.services import project_create

    owner = user_create(email="bench-jobs@example.com", password=None)
    billing_services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount=1_000_000)
    project = project_create(owner=owner, name="Bench jobs")
    port = int(os.environ.get("BENCH_PORT") or free_port())
    server = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}"
        ticks = [lag for _ in range(2) for lag in follow_ticks(project, owner, url)]
        variants = {"CLI started with the job": [follow_lag(project, owner, url) for _ in range(runs)],
                    "output from 1.5 s after the start (the CLI is following)":
                    [follow_lag(project, owner, url, FOLLOWED_LATE) for _ in range(runs)]}
    finally:
        server.terminate()
        server.wait(40)
    print(f"a line every 0.2 s, followed by the CLI: written → printed, median "
          f"{statistics.median(ticks) * 1000:.0f} ms, max {max(ticks) * 1000:.0f} ms "
          f"({len(ticks)} lines, 2 jobs)")
    for label, follows in variants.items():
        lags = [lag for lag, _, _ in follows]
        print(f"{label}: last line printed after it was written:",
              ", ".join(f"{lag * 1000:.0f} ms" for lag in lags),
              f"(median {statistics.median(lags) * 1000:.0f} ms;",
              "first line printed → last written:", ", ".join(f"{run:.2f} s" for _, run, _ in follows) + ")")
        print("\n".join(follow_rows(follows)))


TICKS = 25  # lines, one every 0.2 s
TICKER = (f"{PY} -c \"import time\nfor i in range({TICKS}):\n    print('tick', i, time.time(), flush=True); "
          "time.sleep(0.2)\"")


def follow_ticks(project, owner, url: str) -> list[float]:
    """`trainshed job logs ID --follow` of a job writing a line every 0.2 s: for each line, seconds
    from the command writing it to the CLI printing it (the follow path alone, no backlog)."""

    agent = Agent(owner, url)
    project_gpu_types_refresh(project=project, actor=None)
    out = []
    try:
        job, proc = started_and_followed(project, owner, url, "ticks", TICKER)
        for line in proc.stdout:
            if line.startswith(b"tick "):
                out.append(time.time() - float(line.split()[2]))
        proc.wait(60)
    finally:
        agent.stop()
    return out


def page_lag(project, owner, url: str) -> list[float]:
    """A job writing a line every 0.2 s while its page is polled as the page polls its log (htmx,
    every 0.5 s from the offset it shows): for each line, seconds from the command writing it to
    the page showing it."""
    import httpx
    from django.test import Client
    from django.urls import reverse

    from projects.middleware import SESSION_KEY
    from resources.jobs import services

    browser = Client()
    browser.force_login(owner)
    session = browser.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    agent = Agent(owner, url)
    project_gpu_types_refresh(project=project, actor=None)
    shown: dict[int, float] = {}
    try:
        run_job(project, owner, FIRST)  # warm
        job = services.job_create(project=project, actor=owner, name="ticks", type="training",
                                  gpu_type="cpu", gpu_count=1, command=TICKER)
        done = threading.Event()

        def poll():
            # As the page polls its log: its own poll every 0.5 s from the offset it shows (the
            # page's other poll, every 1 s, leaves the log as it is).
            import html

            # The page opened at Start shows no output yet: its log's poll asks from offset 0.
            first = reverse("resources:job-log-part", args=[job.pk]) + "?since=0&amp;shown=0"
            text = f'<div id="job-log-poll" hidden hx-get="{first}">'
            headers = {"Cookie": f"sessionid={session.session_key}"}
            with httpx.Client(headers=headers, timeout=30) as http:
                while not done.is_set():
                    next_at = time.monotonic() + 0.5
                    now = time.time()
                    for i, at in re.findall(r"tick (\d+) ([\d.]+)", text):
                        shown.setdefault(int(i), now - float(at))
                    found = re.search(r'id="job-log-poll" hidden hx-get="([^"]+)"', text)
                    if found is None:  # the job ended: the page stops polling its log
                        break
                    done.wait(max(0.0, next_at - time.monotonic()))
                    text = http.get(url + html.unescape(found.group(1)), headers={"HX-Request": "true"}).text

        poller = threading.Thread(target=poll)
        services.job_start(job=job, actor=owner)
        poller.start()
        from resources.models import Job, JobStatus

        deadline = time.monotonic() + 120
        ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED)
        while Job.objects.filter(pk=job.pk).values_list("status", flat=True).get() not in ended:
            assert time.monotonic() < deadline, "the ticking job did not end"
            time.sleep(0.1)
        time.sleep(1.5)  # the page's next poll shows the last lines
        done.set()
        poller.join()
    finally:
        agent.stop()
    return [shown[i] for i in sorted(shown)]


def main() -> None:
    print("the command alone …", flush=True)
    bare = [bare_first_line() for _ in range(RUNS)]
    in_box = {net: [sandbox_first_line(net, i) for i in range(RUNS)] for net in ("none", "internet")}
    flood_bare = min(bare_flood() for _ in range(3))

    setup_django()
    from accounts.services import user_create
    from billing import services as billing_services
    from billing.models import BillingAccount
    from projects.services import project_create

    owner = user_create(email="bench-jobs@example.com", password=None)
    billing_services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount=1_000_000)
    project = project_create(owner=owner, name="Bench jobs")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        Agent.count = 0
        whole = {}
        configs = [
            ("sandbox, network none, claim waits for a placement (default)", {}),
            ("no sandbox (the owner's node that cannot sandbox), claim waits for a placement",
             {"TRAINSHED_BWRAP": "/nonexistent/bwrap"}),
            ("sandbox, network none, claim every 1 s without waiting (before)",
             {"TRAINSHED_AGENT_CLAIM_WAIT_SECONDS": "0"}),
        ]
        moments = {}
        for label, env in configs:
            print(f"{label} …", flush=True)
            whole[label], moments[label] = start_latencies(project, owner, url, **env)
        print("log throughput …", flush=True)
        seconds, chunks, size = log_throughput(project, owner, url)
        print("following a log …", flush=True)
        follows = [follow_lag(project, owner, url) for _ in range(3)]
        print("the job's page …", flush=True)
        page = page_lag(project, owner, url)
    finally:
        server.terminate()
        server.wait(40)  # gunicorn lets a waiting claim (up to 20 s) end first
    write_results(bare, in_box, whole, moments, flood_bare, seconds, chunks, size, follows, page)


def step_rows(moments: dict[str, list[dict[str, float]]]) -> list[str]:
    """The median of each step of a start, per configuration (a column each)."""
    labels = list(moments)
    rows = ["| step (median of each) | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    for name, frm, to in STEPS:
        cells = []
        for label in labels:
            values = [m[to] - m[frm] for m in moments[label] if frm in m and to in m]
            cells.append(f"{statistics.median(values) * 1000:.0f} ms" if values else "–")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def write_results(bare, in_box, whole, moments, flood_bare, seconds, chunks, size, follows, page) -> None:
    from bench.results import write_section

    def ms(values):
        m, lo, hi = median_range(values)
        return f"{m * 1000:.0f} ms ({lo * 1000:.0f}–{hi * 1000:.0f})"

    lines = [
        f"Run {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}), PostgreSQL, "
        f"gunicorn -k gthread -w 3 --threads 8, one "
        f"`trainshed-agent` process {'as root (jobs get their own uid)' if os.geteuid() == 0 else ''}. "
        f"Medians of {RUNS} starts each (min–max). Produced by `make bench` (bench/jobs.py).",
        "",
        f"Start latency of `{FIRST}`: from the start to its first output line.",
        "",
        "| how it is started | first line |",
        "| --- | ---: |",
        f"| bare subprocess (`sh -c`), read from its pipe | {ms(bare)} |",
        f"| the sandbox alone (bubblewrap, network none), read from its pipe | {ms(in_box['none'])} |",
        f"| the sandbox alone (bubblewrap + slirp4netns, network internet) | {ms(in_box['internet'])} |",
    ]
    for label, values in whole.items():
        lines.append(f"| Start → seen by the control plane: {label} | {ms(values)} |")
    # The control plane's part: what Start → seen adds to spawning the same command, with the
    # sandbox's own start cost taken out (subject and floor medians of this run).
    box, bare_box = whole[next(iter(whole))], in_box["none"]
    plain = next(v for k, v in whole.items() if k.startswith("no sandbox"))
    lines += [
        "",
        f"The control plane's part at the median (target ≤ 100 ms): without the sandbox, "
        f"{statistics.median(plain) * 1000:.0f} ms against a bare spawn's "
        f"{statistics.median(bare) * 1000:.0f} ms: "
        f"**+{(statistics.median(plain) - statistics.median(bare)) * 1000:.0f} ms**; in the sandbox, "
        f"{statistics.median(box) * 1000:.0f} ms against the sandbox alone's "
        f"{statistics.median(bare_box) * 1000:.0f} ms: "
        f"**+{(statistics.median(box) - statistics.median(bare_box)) * 1000:.0f} ms**.",
    ]
    columns = dict(zip(["sandbox (default)", "no sandbox", "sandbox, claim every 1 s (before)"],
                       moments.values(), strict=True))
    lines += ["", "Where the time of a start goes (the agent's own line for each run, beside the server's "
              "times; one clock):", "", *step_rows(columns)]
    mb = size / 1e6
    lines += [
        "",
        f"Log throughput: {LINES:,} lines of 41 bytes ({mb:.1f} MB) through the agent and the node API "
        f"(sandboxed, network none): **{LINES / seconds:,.0f} lines/s, {mb / seconds:.1f} MB/s** "
        f"(first chunk stored to last: {seconds:.2f} s, {chunks} chunks). The same command alone, read "
        f"from a pipe: {LINES / flood_bare:,.0f} lines/s, {mb / flood_bare:.1f} MB/s.",
        "",
        f"Following it: `trainshed job logs ID --follow` started with a job writing {LINES:,} lines, the "
        f"last one stamped with the moment it was written (target: printed within 0.5 s of it). Lag of "
        f"the last line, 3 runs: **{', '.join(f'{lag * 1000:.0f} ms' for lag, _, _ in follows)}** (from "
        f"the CLI printing the first line to the command writing the last: "
        f"{', '.join(f'{run:.2f} s' for _, run, _ in follows)}; below 0 when the command ended first).",
        "",
        "Where the last line's time goes (the agent's own moments, the chunk's row, the CLI's print):",
        "",
        *follow_rows(follows),
        "",
        f"The job's page, polled as it polls its log (htmx, every 0.5 s from the offset it shows), "
        f"while the job writes a line every 0.2 s "
        f"(target: a line shows within 1 s): from a line written to the page showing it, median "
        f"**{statistics.median(page) * 1000:.0f} ms**, max {max(page) * 1000:.0f} ms ({len(page)} of "
        f"{TICKS} lines seen).",
    ]
    print("\n".join(lines))
    write_section("jobs", lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["follow"]:
        follow_main(int(sys.argv[2]) if len(sys.argv) > 2 else 5)
    else:
        main()
