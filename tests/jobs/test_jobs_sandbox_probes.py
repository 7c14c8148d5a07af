"""Probes through the whole path: the control plane runs as its own process (its SECRET_KEY, Fernet
keys and a marker in its environment), the node's `trainshed-agent` runs as its own process (its
token and a marker in its environment), and a job placed through the services runs in the real
sandbox and tries what an attacker's job would. Every file it aims at is readable (or writable) by
any local user, so only the sandbox stands in the way; a control run of the same probe outside the
sandbox shows the probe does find what it looks for."""

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.db import connection
from trainshed.agent import sandbox

from compute import services as compute_services
from compute.models import ComputeNode
from projects.keys import secret_set
from resources.jobs import services
from resources.models import JobLogChunk, JobStatus
from tests.factories import ProjectFactory, UserFactory
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

CAN_SANDBOX, WHY = sandbox.check()
pytestmark = [
    pytest.mark.postgres,  # the server process shares the test database: PostgreSQL
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CAN_SANDBOX, reason=f"this machine cannot sandbox jobs: {WHY}"),
]

SERVER_MARKER = "server-env-" + secrets.token_hex(8)
SECRET_KEY = "server-secret-key-" + secrets.token_hex(8)
AGENT_MARKER = "agent-env-" + secrets.token_hex(8)
KEY_MARKER = "key-file-" + secrets.token_hex(8)


def _open_dir(prefix, mode=0o755) -> Path:
    """A folder any local user could reach (pytest's tmp_path is root's only): only the sandbox
    keeps a job out of it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def plane(django_db_setup, django_db_blocker):
    """The control plane's process and its var folder: the Fernet key file, a file holding its
    SECRET_KEY and a database file, all world-readable (a careless install)."""
    home = _open_dir("trainshed-server-")
    var = home / "var"
    var.mkdir(mode=0o755)
    with django_db_blocker.unblock():
        server = ServerProcess(home, env={"SECRET_KEY": SECRET_KEY, "TRAINSHED_PROBE_MARKER": SERVER_MARKER})
    (var / "fernet.key").write_text(server.env["TRAINSHED_FERNET_KEYS"].split(",")[0] + "\n" + KEY_MARKER)
    (var / "secret.env").write_text(f"SECRET_KEY={SECRET_KEY}\n")
    (var / "db.sqlite3").write_text(f"SQLite format 3 {KEY_MARKER}")
    for f in var.iterdir():
        f.chmod(0o644)
    server.var = var
    yield server
    server.close()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def node_dir():
    """The node agent's folder (and its fake device nodes)."""
    path = _open_dir("trainshed-agent-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def agents(plane, node_dir):
    """Starts real agent processes for nodes; stops them all at the end."""
    started = []

    def start(node, name="agent", **env):
        agent = AgentProcess(node, plane.url, node_dir / name,
                             env={"TRAINSHED_PROBE_AGENT_MARKER": AGENT_MARKER, **env})
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.close()


def _fake_gpus(node_dir, count) -> Path:
    """Regular files stand in for a node's GPU device nodes where there is no GPU."""
    devices = node_dir / "dev"
    devices.mkdir(mode=0o755)
    for name in [f"nvidia{i}" for i in range(count)] + ["nvidiactl"]:
        (devices / name).write_text(f"{name} device\n")
        (devices / name).chmod(0o666)
    return devices


def _database_files() -> list[str]:
    """PostgreSQL's own files, when this test may ask where they are."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            data = cursor.fetchone()[0]
    except Exception:  # not a superuser: the stand-in db.sqlite3 is probed still
        return []
    return [f"{data}/PG_VERSION", f"{data}/global/pg_control"]


# Reads each path given and every /proc/*/environ and cmdline it can see; prints what it read.
PROBE = r'''
import glob, sys
for path in sys.argv[1:] + sorted(glob.glob("/proc/[0-9]*/environ")) + sorted(glob.glob("/proc/[0-9]*/cmdline")):
    try:
        with open(path, "rb") as f:
            print("READ", path, f.read(4000).replace(b"\0", b" ").decode(errors="replace"))
    except OSError as e:
        print("DENIED", path, type(e).__name__)
print("probe done")
'''


def _probe_command(targets) -> str:
    return f"cat > probe.py <<'PROBE'\n{PROBE}\nPROBE\n{PY} probe.py {' '.join(map(str, targets))}"


def _log(job) -> str:
    """The whole log as stored (only the job's own project's secrets are redacted before that)."""
    return "".join(JobLogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def test_a_job_cannot_read_the_servers_or_agents_environment_nor_the_database_or_key_files(
        owner, project, plane, agents, node_dir):
    node = local_node(node_dir, name="probe-box")
    ready(project)
    agent = agents(node)
    server_pid, agent_pid = plane.proc.pid, agent.pid
    targets = [f"/proc/{server_pid}/environ", f"/proc/{agent_pid}/environ", f"/proc/{server_pid}/cmdline",
               plane.var / "fernet.key", plane.var / "secret.env", plane.var / "db.sqlite3",
               *_database_files(), node_dir / "agent-agent.log"]
    job = make_job(project, owner, command=_probe_command(targets))
    services.job_start(job=job, actor=owner)
    wait_for(lambda: status_of(job) in (JobStatus.FINISHED, JobStatus.FAILED), timeout=90)
    log = _log(job)
    assert status_of(job) == JobStatus.FINISHED, log
    assert "probe done" in log
    for target in targets[3:]:
        assert f"DENIED {target} " in log, target  # not there at all in the sandbox
    for secret in (SERVER_MARKER, SECRET_KEY, AGENT_MARKER, agent.token, KEY_MARKER, "DATABASE_URL"):
        assert secret not in log
    # The same probe, run outside the sandbox as the agent's user, finds every one of them.
    control = subprocess.run([PY, "-c", PROBE, *map(str, targets)], capture_output=True, text=True).stdout
    for secret in (SERVER_MARKER, SECRET_KEY, AGENT_MARKER, agent.token, KEY_MARKER, "DATABASE_URL"):
        assert secret in control


def test_a_job_on_gpu_1_cannot_open_gpu_0_nor_read_another_running_jobs_environment_or_workspace(
        owner, project, plane, agents, node_dir):
    devices = _fake_gpus(node_dir, 2)
    node = local_node(node_dir, name="gpu-box", gpu_type="t4", gpus=2)
    agents(node, TRAINSHED_AGENT_DEVICE_DIR=str(devices))
    ready(project)
    victim_secret = "victim-secret-" + secrets.token_hex(8)
    secret_set(project=project, name="VICTIM_TOKEN", value=victim_secret, actor=None)
    victim = make_job(project, owner, gpu_type="t4", name="victim",
                      command="echo victim-file-content > output/private.txt; chmod 644 output/private.txt\n"
                              "echo victim running; while [ ! -e release ]; do sleep 0.1; done")
    services.job_start(job=victim, actor=owner)
    wait_for(lambda: "victim running" in _log(victim), timeout=90)

    attacker = UserFactory(email="attacker@example.com")
    theirs = ready(ProjectFactory(owner=attacker, name="Attack"))
    victim_ws = node_dir / "agent" / "jobs" / str(victim.pk)
    targets = [victim_ws / "output" / "private.txt", f"/workspace/../{victim.pk}/output/private.txt",
               "/dev/nvidia0", "/dev/nvidia1", "/dev/nvidiactl"]
    probe = make_job(theirs, attacker, gpu_type="t4", name="probe",
                     command="CUDA_VISIBLE_DEVICES=0,1; export CUDA_VISIBLE_DEVICES\n" + _probe_command(targets)
                             + "\nls /dev | grep nvidia | tr '\\n' ' '")
    services.job_start(job=probe, actor=attacker)
    probe.refresh_from_db()
    victim.refresh_from_db()
    assert (victim.gpu_indices, probe.gpu_indices, probe.node_id) == ("0", "1", node.pk)
    wait_for(lambda: status_of(probe) in (JobStatus.FINISHED, JobStatus.FAILED), timeout=90)
    log = _log(probe)
    assert status_of(probe) == JobStatus.FINISHED, log
    assert "probe done" in log
    assert f"DENIED {targets[0]} " in log and f"DENIED {targets[1]} " in log and "DENIED /dev/nvidia0 " in log
    assert "READ /dev/nvidia1 nvidia1 device" in log and "READ /dev/nvidiactl nvidiactl device" in log
    assert "nvidia1 nvidiactl" in log.splitlines()[-1]  # the only GPU device nodes it has
    assert victim_secret not in log and "victim-file-content" not in log
    assert status_of(victim) == JobStatus.RUNNING  # the victim was running all along
    (victim_ws / "release").touch()
    wait_for(lambda: status_of(victim) == JobStatus.FINISHED, timeout=60)


def test_a_job_cannot_write_outside_its_workspace(owner, project, plane, agents, node_dir):
    node = local_node(node_dir, name="write-box")
    agents(node)
    ready(project)
    drop = _open_dir("trainshed-drop-", 0o777)  # a folder anyone may write to
    name = "pwned-" + secrets.token_hex(6)
    places = [drop, plane.var, node_dir, node_dir / "agent", node_dir / "agent" / "jobs", "/tmp", "/var/tmp",
              "/dev/shm", "/workspace/..", "/"]
    writes = "; ".join(f"(echo x > {p}/{name}) 2>/dev/null && echo WROTE {p} || true" for p in places)
    job = make_job(project, owner, command=f"{writes}\necho mine > /workspace/output/ok.txt\necho tried")
    services.job_start(job=job, actor=owner)
    wait_for(lambda: status_of(job) in (JobStatus.FINISHED, JobStatus.FAILED), timeout=90)
    log = _log(job)
    assert status_of(job) == JobStatus.FINISHED and "tried" in log, log
    # Inside, only its own /tmp and /dev/shm (gone with it) take a write; nothing lands on the host.
    assert set(line for line in log.splitlines() if line.startswith("WROTE")) <= {"WROTE /tmp", "WROTE /dev/shm"}
    for place in places:
        assert not (Path(place) / name).exists(), place
    assert not any(node_dir.rglob(name))
    assert (node_dir / "agent" / "jobs" / str(job.pk) / "output" / "ok.txt").read_text() == "mine\n"
    shutil.rmtree(drop, ignore_errors=True)


def _processes_with(text: str) -> list[int]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                out.append(int(pid))
        except OSError:
            pass
    return out


def test_a_detached_child_is_gone_when_the_job_ends(owner, project, plane, agents, node_dir):
    node = local_node(node_dir, name="detach-box")
    agents(node)
    ready(project)
    tag = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**3) + 1}"  # unique sleep lengths
    job = make_job(project, owner, command=(
        f"setsid sh -c 'exec sleep 1{tag}' </dev/null >/dev/null 2>&1 &\n"
        f"nohup sleep 2{tag} </dev/null >/dev/null 2>&1 &\n"
        "echo children started\nwhile [ ! -e release ]; do sleep 0.1; done\necho leaving"))
    services.job_start(job=job, actor=owner)
    wait_for(lambda: "children started" in _log(job), timeout=90)
    wait_for(lambda: _processes_with(f"sleep 1{tag}") and _processes_with(f"sleep 2{tag}"))
    (node_dir / "agent" / "jobs" / str(job.pk) / "release").touch()
    wait_for(lambda: status_of(job) == JobStatus.FINISHED, timeout=60)
    assert "leaving" in _log(job)
    assert _processes_with(f"sleep 1{tag}") == [] and _processes_with(f"sleep 2{tag}") == []


def test_another_owners_node_token_gets_nothing_of_this_node(owner, project, plane, agents, node_dir):
    import httpx

    here = local_node(node_dir / "here", name="here")
    devices = _fake_gpus(node_dir, 2)
    stranger = UserFactory(email="stranger@example.com")
    elsewhere = local_node(node_dir / "there", owner=stranger, name="elsewhere", gpu_type="t4")
    ready(project)
    mine = make_job(project, owner, command="echo mine")
    services.job_start(job=mine, actor=owner)
    mine.refresh_from_db()
    assert mine.node == here
    theirs = make_job(ready(ProjectFactory(owner=stranger, name="Theirs")), stranger, gpu_type="t4",
                      command="echo theirs ran")
    services.job_start(job=theirs, actor=stranger)
    theirs.refresh_from_db()
    assert theirs.node == elsewhere
    other = agents(elsewhere, name="stranger", TRAINSHED_AGENT_DEVICE_DIR=str(devices))
    # Its agent claims and runs its own node's job, so it has asked for work: never this one.
    wait_for(lambda: status_of(theirs) == JobStatus.FINISHED, timeout=90)
    assert status_of(mine) == JobStatus.STARTING
    node_api = f"{plane.url}/api/v1/node/jobs/{mine.pk}"
    with httpx.Client(headers={"Authorization": f"Bearer {other.token}"}) as as_stranger:
        assert as_stranger.get(f"{node_api}/spec").status_code == 404
        assert as_stranger.post(f"{node_api}/log", json={"seq": 1, "text": "forged"}).status_code == 404
        assert as_stranger.post(f"{node_api}/end", json={"status": "finished"}).status_code == 404
    assert "forged" not in _log(mine) and status_of(mine) == JobStatus.STARTING


def test_a_revoked_token_stops_the_agent_process_and_its_jobs_processes(owner, project, plane, agents, node_dir):
    node = local_node(node_dir, name="revoked-box")
    agent = agents(node)
    ready(project)
    tag = f"3{secrets.randbelow(10**6)}.5"
    job = make_job(project, owner, command=f"echo started\nsleep {tag}")
    services.job_start(job=job, actor=owner)
    wait_for(lambda: "started" in _log(job), timeout=90)
    assert _processes_with(f"sleep {tag}")
    compute_services.node_token_revoke(node=ComputeNode.objects.get(pk=node.pk), actor=None)
    assert agent.proc.wait(timeout=60) == 3  # it stopped by itself, saying why
    assert "refused this node's token" in agent.output()
    assert _processes_with(f"sleep {tag}") == []
