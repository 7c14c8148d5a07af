"""The job sandbox, with real bubblewrap: each test runs a probe as the job and checks what a user
would see (exit codes, output, files on the host)."""
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest
from trainshed.agent import sandbox as sb

OK, WHY = sb.check()
pytestmark = pytest.mark.skipif(not OK, reason=f"this machine cannot sandbox jobs: {WHY}")
REPO = Path(__file__).resolve().parents[2]
ROOT = os.geteuid() == 0
PATH = f"{sys.base_prefix}/bin:/usr/local/bin:/usr/bin:/bin"


@pytest.fixture
def node(tmp_path):
    """A node's storage: this job's workspace and another job's, readable only by root like an agent's."""
    tmp_path.chmod(0o700)
    (tmp_path / "other-job").mkdir()
    (tmp_path / "other-job" / "secret.txt").write_text("other job's data")
    (tmp_path / "node.key").write_text("KEY")
    return tmp_path


_slot = iter(range(1, 1000))


def run(node, script, *, wait=True, timeout=30, **kw):
    spec = sb.SandboxSpec(job_id=f"t{os.getpid()}-{next(_slot)}", argv=["/bin/sh", "-e", "-c", script],
                          env={"PATH": PATH, "HOME": "/workspace", "SECRET": "job-env"},
                          workspace=node / "ws", uid=sb.job_uid(next(_slot)) if ROOT else None, **kw)
    box = sb.start(spec)
    if not wait:
        return box
    try:
        code = box.wait(timeout)
        return code, box.stdout.read().decode(), box
    finally:
        box.cleanup()


def test_check_reports_a_missing_bwrap(tmp_path, monkeypatch):
    ok, why = sb.check(bwrap=str(tmp_path / "no-bwrap"))
    assert not ok and "bubblewrap" in why
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TRAINSHED_BWRAP", raising=False)
    assert sb.check() == (False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


def test_check_reports_refused_user_namespaces():
    d = Path(tempfile.mkdtemp())  # readable by the unprivileged uid check() runs it as
    d.chmod(0o755)
    fake = d / "bwrap"  # a bwrap that fails the way bwrap does without user namespaces
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    try:
        ok, why = sb.check(bwrap=str(fake))
    finally:
        shutil.rmtree(d)
    assert not ok and "user namespaces are refused" in why and "No permissions" in why


def test_python_runs_and_env_is_exactly_the_spec(node):
    code, out, _ = run(node, "env | cut -d= -f1 | grep -v '^PWD$' | sort | tr '\\n' ' '; python3 -c 'import os; print(os.getcwd(), os.getuid())'")
    assert code == 0, out
    assert out == "HOME PATH SECRET /workspace 1000\n", out


def test_cannot_read_host_files(node):
    script = f"""
    for f in {node}/node.key {node}/other-job/secret.txt {REPO}/manage.py {REPO}/README.md /root/.bashrc \
             /etc/shadow /etc/postgresql /var/lib /home /run; do
      if cat "$f" >/dev/null 2>&1 || ls "$f" >/dev/null 2>&1; then echo "READ $f"; fi
    done
    echo done
    """
    code, out, _ = run(node, script)
    assert code == 0 and out.strip() == "done", out


def test_cannot_see_host_processes_or_their_environment(node):
    code, out, _ = run(node, "ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; cat /proc/1/cmdline | tr '\\0' ' '; echo;"
                             " cat /proc/1/environ | tr '\\0' ' '")
    pids, init, environ = (out.splitlines() + ["", "", ""])[:3]
    assert code == 0, out
    assert len(pids.split()) <= 5, pids  # bwrap's init, sh and the pipeline; the host has hundreds
    assert "bwrap" in init
    assert "DATABASE_URL" not in out and "SECRET_KEY" not in out


def test_writes_land_in_the_workspace_only(node):
    code, out, _ = run(node, "echo result > /workspace/out.txt; mkdir -p sub; echo x > sub/y;"
                             " for d in /usr /etc /etc/ssl /root /tmp/.. / ; do touch $d/pwned 2>/dev/null && echo WROTE $d; done;"
                             " echo tmp > /tmp/t && cat /tmp/t")
    assert code == 0 and "WROTE" not in out and "tmp" in out, out
    assert (node / "ws" / "out.txt").read_text() == "result\n"
    assert (node / "ws" / "sub" / "y").exists()
    assert not Path("/usr/pwned").exists() and not Path("/pwned").exists()
    if ROOT:
        assert (node / "ws" / "out.txt").stat().st_uid >= 200000  # the job's own uid, not root


def test_inputs_are_read_only(node):
    (node / "data").mkdir()
    (node / "data" / "train.csv").write_text("a,b\n")
    code, out, _ = run(node, "cat /workspace/input/train.csv; (echo x > /workspace/input/new) 2>/dev/null && echo WROTE;"
                             " rm /workspace/input/train.csv 2>/dev/null && echo REMOVED; echo end",
                       inputs=[sb.Mount(node / "data", "/workspace/input")])
    assert code == 0 and out == "a,b\nend\n", out
    assert (node / "data" / "train.csv").exists() and not (node / "data" / "new").exists()


def test_paths_with_spaces_and_backslashes_are_bound(node):
    # As root, the stage binds every source through a mount table: such names must be escaped there.
    data = node / "my data\\set\t1"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n")
    spec_ws = node / "a workspace"
    spec = sb.SandboxSpec(job_id=f"t{os.getpid()}-{next(_slot)}", env={"PATH": PATH},
                          argv=["/bin/sh", "-e", "-c", "cat /workspace/input/train.csv; echo out > /workspace/o"],
                          workspace=spec_ws, uid=sb.job_uid(next(_slot)) if ROOT else None,
                          inputs=[sb.Mount(data, "/workspace/input")], network="none")
    box = sb.start(spec)
    try:
        assert box.wait(30) == 0
        assert box.stdout.read().decode() == "a,b\n"
    finally:
        box.cleanup()
    assert (spec_ws / "o").read_text() == "out\n"


def _uid_processes(uid):
    """Processes of `uid` still running (a zombie has ended: it waits only to be reaped)."""
    out = []
    for p in os.listdir("/proc"):
        try:
            status = Path(f"/proc/{p}/status").read_text() if p.isdigit() else ""
            if status and status.split("Uid:")[1].split()[0] == str(uid) and "\tZ (zombie)" not in status:
                out.append(p)
        except (OSError, IndexError):
            pass
    return out


def _outside_uid(box):
    return int(open(f"/proc/{box.child_pid}/status").read().split("Uid:")[1].split()[0])


def test_detached_child_is_gone_when_the_job_ends(node):
    box = run(node, "setsid sh -c 'sleep 1000 &' ; sleep 0.3; echo started", wait=False)
    uid = _outside_uid(box)
    try:
        assert box.wait(20) == 0
        assert box.stdout.read() == b"started\n"  # EOF: nobody holds the job's output any more
        assert box.pids() == []  # its PID namespace is empty
    finally:
        box.cleanup()
    if ROOT:
        assert _uid_processes(uid) == []  # nothing of the job's uid anywhere on the host


def test_stop_ends_every_process(node):
    box = run(node, "trap '' TERM; setsid sh -c 'trap \"\" TERM; sleep 1000' & sleep 1000", wait=False)
    uid = _outside_uid(box)
    try:
        time.sleep(0.3)
        assert len(box.pids()) >= 3
        t = time.time()
        box.stop(grace=0.5)
        assert time.time() - t < 5
        assert box.pids() == [] and box.poll() is not None
    finally:
        box.cleanup()
    if ROOT:
        assert _uid_processes(uid) == []


@pytest.mark.skipif(not ROOT, reason="the job's own uid needs the agent to run as root")
def test_uid_outside_is_the_jobs_not_root(node):
    box = run(node, "sleep 2", wait=False)
    try:
        uids = Path(f"/proc/{box.child_pid}/status").read_text().split("Uid:")[1].split("\n")[0].split()
        assert set(uids) == {str(box_uid := int(uids[0]))} and box_uid >= 200000
        time.sleep(0.2)
        for pid in box.pids():
            assert "\t0\t" not in Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split("\n")[0]
    finally:
        box.stop(0)
        box.cleanup()


def test_only_the_given_gpus(node):
    devs = node / "dev"
    devs.mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (devs / name).write_text(name + "\n")  # regular files stand in for the device nodes
        (devs / name).chmod(0o666)
    code, out, _ = run(node, "cat /dev/nvidia1 /dev/nvidiactl /dev/nvidia-uvm; CUDA_VISIBLE_DEVICES=0,1;"
                             " cat /dev/nvidia0 2>/dev/null && echo OPENED0; ls /dev | grep nvidia | tr '\\n' ' '",
                       gpu_indices=[1], device_dir=devs)
    assert code == 0, out
    assert out.splitlines()[:3] == ["nvidia1", "nvidiactl", "nvidia-uvm"]
    assert "OPENED0" not in out and out.splitlines()[3].split() == ["nvidia-uvm", "nvidia1", "nvidiactl"]


def test_process_limit_is_reported(node):
    code, out, box = run(node, "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo forked", max_processes=20)
    assert "forked" not in out  # the 21st fork failed and -e ended the job
    if box.limits_note.startswith("memory and process limits through cgroups"):
        assert box.limit_hit() == "The job hit its process limit (20 processes)."


def test_process_limit_without_cgroups(node):
    code, out, box = run(node, "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo forked",
                         max_processes=20, use_cgroups=False)
    assert code != 0 and "forked" not in out, out
    assert "RLIMIT_NPROC" in box.limits_note and box.limit_hit() == ""


def test_memory_limit_is_reported(node):
    code, out, box = run(node, "python3 -c 'x = bytearray(400 * 2**20); print(\"allocated\")'",
                         memory_bytes=100 * 2**20)
    if "cgroups" not in box.limits_note or "not usable" in box.limits_note:
        pytest.skip(f"no memory cgroup here: {box.limits_note}")
    assert code != 0 and "allocated" not in out
    assert box.limit_hit() == "The job hit its memory limit (0.1 GB)."


@pytest.fixture
def host_service():
    """A service on the host's loopback, like PostgreSQL on 127.0.0.1:5432."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


CONNECT = "import socket,sys; s=socket.socket(); s.settimeout(2); print('open' if s.connect_ex((sys.argv[1], int(sys.argv[2])))==0 else 'refused')"


@pytest.mark.parametrize("network", ["internet", "none"])
def test_host_loopback_is_unreachable(node, host_service, network):
    code, out, _ = run(node, f"for a in 127.0.0.1 10.0.2.2; do python3 -c \"{CONNECT}\" $a {host_service}; done",
                       network=network)
    assert code == 0 and out.split() == ["refused", "refused"], out


def test_the_jobs_port_is_reachable_from_the_host(node):
    box = run(node, "python3 -c \"import socket; s=socket.socket(); s.bind(('0.0.0.0', 8888)); s.listen();"
                    " c,_=s.accept(); c.sendall(b'hello from the job')\"", wait=False, port=8888)
    try:
        assert box.host_port
        deadline, got = time.time() + 10, b""
        while time.time() < deadline and not got:
            try:
                with socket.create_connection(("127.0.0.1", box.host_port), timeout=2) as c:
                    got = c.recv(100)
            except OSError:
                time.sleep(0.1)
        assert got == b"hello from the job"
        assert box.wait(10) == 0
    finally:
        box.cleanup()


def test_unsandboxed_has_the_same_interface(node):
    spec = sb.SandboxSpec(job_id="u", argv=["/bin/sh", "-c", "env | sort; sleep 1000 & echo started"],
                          env={"PATH": PATH, "A": "1"}, workspace=node / "ws-u")
    box = sb.start_unsandboxed(spec)
    try:
        assert box.wait(10) == 0
        assert len(box.pids()) == 1  # the detached sleep, still in the job's session
        box.stop(0.2)
        assert box.pids() == []
        out = box.stdout.read().decode()
        assert "A=1" in out and "SECRET" not in out
    finally:
        box.cleanup()
