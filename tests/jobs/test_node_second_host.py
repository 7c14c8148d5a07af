"""A second host: the node's agent runs in a network namespace of its own, joined to this machine
by a veth pair, and reaches the control plane only at the host side's address, as an agent on
another machine does. Cutting that link for a few seconds leaves the job running; the agent
retries with backoff and sends the log again from what the server acknowledged, and the job ends
finished with its whole log exactly once."""

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from resources.jobs import services
from resources.models import JobLogChunk, JobStatus
from tests.jobs_helpers import (
    PY,
    AgentProcess,
    ServerProcess,
    local_node,
    make_job,
    ready,
    status_of,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _free_subnet() -> str:
    used = _ip("-4", "addr").stdout
    for _ in range(100):
        net = f"10.{secrets.randbelow(100) + 100}.{secrets.randbelow(250) + 1}"
        if f"inet {net}." not in used:
            return net
    pytest.skip("no free 10.x.y.0/24 subnet for the test link")


@pytest.fixture
def link():
    """A network namespace (the second host) and a veth pair to it: 10.x.y.1 here, 10.x.y.2 there.
    Removed at the end whatever happened."""
    if os.geteuid() != 0:
        pytest.skip("a network namespace for the second host needs root")
    if not shutil.which("ip"):
        pytest.skip("the `ip` command (iproute2) is missing")
    tag = secrets.token_hex(4)
    ns, here, there = f"trainshed-{tag}", f"tsh{tag}a", f"tsh{tag}b"
    net = _free_subnet()
    made = _ip("netns", "add", ns, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {made.stderr.strip()}")
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", ns)
        _ip("addr", "add", f"{net}.1/24", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", ns, "addr", "add", f"{net}.2/24", "dev", there)
        _ip("-n", ns, "link", "set", there, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        yield {"ns": ns, "here": here, "host": f"{net}.1"}
    finally:
        _ip("link", "set", here, "up", check=False)
        _ip("netns", "del", ns, check=False)  # takes its end of the pair, and so the pair
        _ip("link", "del", here, check=False)


@pytest.fixture
def second_host(link, django_db_blocker):
    """The control plane listening on the host side's address only, and a folder for the agent."""
    home = Path(tempfile.mkdtemp(prefix="trainshed-second-host-"))
    (home / "var").mkdir()
    server = ServerProcess(home, host=link["host"])
    started = []

    def agent(node, **env):
        started.append(AgentProcess(node, server.url, home / "agent", prefix=["ip", "netns", "exec", link["ns"]],
                                    env=env))
        return started[-1]

    yield agent, server
    for a in started:
        a.close()
    server.close()
    shutil.rmtree(home, ignore_errors=True)


COUNTER = (
    "import os, pathlib, time\n"
    "i = 0\n"
    "while not os.path.exists('finish'):\n"
    "    i += 1\n"
    "    print(f'line {i}', flush=True)\n"
    "    pathlib.Path('progress').write_text(str(i))\n"
    "    time.sleep(0.05)\n"
    "print(f'last line after {i}', flush=True)\n"
)


def _stored_log(job) -> str:
    return "".join(JobLogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def test_an_agent_on_a_second_host_runs_a_job_and_survives_a_cut_of_its_link(owner, project, link, second_host,
                                                                              tmp_path):
    start_agent, server = second_host
    node = local_node(tmp_path, name="second-host")
    ready(project)
    # Its requests time out after 3 s (not 30), so that a cut of a few seconds shows retries.
    agent = start_agent(node, TRAINSHED_AGENT_TIMEOUT="3")
    # `ip netns exec` joins the namespace, then runs the agent in the same process
    wait_for(lambda: os.readlink(f"/proc/{agent.pid}/ns/net") != os.readlink("/proc/self/ns/net"))
    job = make_job(project, owner, command=f"cat > counter.py <<'PY'\n{COUNTER}PY\n{PY} counter.py")
    services.job_start(job=job, actor=owner)
    wait_for(lambda: "line 5\n" in _stored_log(job), timeout=90)
    workspace = Path(agent.dir) / "jobs" / str(job.pk)
    progress = workspace / "progress"

    _ip("link", "set", link["here"], "down")
    cut_at = time.monotonic()
    try:
        before = int(progress.read_text() or 0)
        wait_for(lambda: int(progress.read_text() or 0) > before + 40, timeout=60)  # it keeps running
        (workspace / "finish").touch()
        # Its last log chunk and its end cannot reach the server: retried, each wait longer.
        wait_for(lambda: len(re.findall(r"again in ([\d.]+)s", agent.output())) >= 2, timeout=60)
        time.sleep(max(0.0, 3 - (time.monotonic() - cut_at)))  # a cut of at least 3 s
    finally:
        _ip("link", "set", link["here"], "up")

    wait_for(lambda: status_of(job) in (JobStatus.FINISHED, JobStatus.FAILED), timeout=120)
    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, job.status_reason
    assert list(job.events.values_list("status", flat=True)) == ["new", "starting", "running", "finished"]
    lines = _stored_log(job).splitlines()
    last = int(lines[-1].removeprefix("last line after "))
    assert last > before + 40
    assert lines == [f"line {i}" for i in range(1, last + 1)] + [f"last line after {last}"]  # once each
    retries = [line for line in agent.output().splitlines() if "again in" in line]
    assert any(f"/jobs/{job.pk}/log failed" in line for line in retries), retries
    delays = [float(d) for d in re.findall(r"again in ([\d.]+)s", "\n".join(retries))]
    assert delays[0] == 0.5 and delays[1] > delays[0]  # backoff
