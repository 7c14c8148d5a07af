"""Run one job in a bubblewrap sandbox (stdlib only; no Django).

Interface
---------
    Mount(host: Path, inside: str, writable: bool = False)
    SandboxSpec(job_id, argv, env, workspace, inputs=[], gpu_indices=[], memory_bytes=None,
                max_processes=None, port=None, network="internet", read_only_paths=default_read_only_paths(),
                device_dir=Path("/dev"), uid=None, use_cgroups=True)
    job_uid(slot: int, base: int | None = None) -> int   # TRAINSHED_JOB_UID_BASE, default 200000
    check(bwrap: str | None = None) -> tuple[bool, str]    # actually starts a tiny sandbox
    start(spec) -> Sandbox                                 # sandboxed
    start_unsandboxed(spec) -> Sandbox                     # node owner's own jobs only, when check() fails
    Sandbox: pid, child_pid, stdout (binary pipe, stdout+stderr), host_port, limits_note,
             poll(), wait(timeout=None), stop(grace) -> int, pids() -> list[int], limit_hit() -> str,
             cleanup()

How it is built
---------------
* bwrap runs unprivileged.  As root the agent first enters a private mount namespace (unshare(1)),
  mounts a tmpfs "stage" there and bind-mounts every host source into it, then drops to the job's
  own uid (setpriv) and execs bwrap, which binds stage/N -> destination.  So the job uid needs no
  access to the agent's storage or to /root (pyenv lives there), and the host's mounts are untouched.
  Not root: bwrap binds the sources directly, with the agent's uid.
* bwrap: new user, PID, IPC, UTS, cgroup (if possible), mount and (unless network="host") network
  namespaces, --die-with-parent, --new-session, --clearenv + exactly spec.env, a tmpfs root with only
  the read-only system paths, /workspace rw, inputs ro, private /tmp, --dev /dev plus the given GPUs'
  device nodes, --proc /proc of its own PID namespace, a generated /etc/passwd, group, hosts,
  resolv.conf.
* --json-status-fd gives the sandbox's init pid while --block-fd holds it before it runs anything:
  then it is put in the job's cgroup (or gets RLIMIT_NPROC), slirp4netns is attached, the port is
  forwarded, and only then the job starts.  bwrap's init exits when the job's main process does, and
  the kernel kills everything else in that PID namespace.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NS_GET_USERNS = 0xB701  # ioctl: the user namespace owning a namespace
INSIDE_UID = 1000  # the job's uid inside its user namespace (not root, so tools behave as for a user)
WORKSPACE = "/workspace"
GPU_CONTROL_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "nvidia-caps")
# Files of /etc that programs need and that say nothing about the node (no passwd, shadow, ssh or
# services' configs).
ETC_SAFE = ("ssl", "ca-certificates", "ca-certificates.conf", "alternatives", "ld.so.cache", "ld.so.conf",
            "ld.so.conf.d", "nsswitch.conf", "localtime", "timezone", "mime.types", "protocols", "services",
            "os-release", "debian_version", "python3", "python3.11", "gai.conf", "host.conf", "networks",
            "profile", "bash.bashrc", "inputrc", "terminfo", "magic", "magic.mime", "fonts", "xdg", "pki",
            "crypto-policies")


def default_read_only_paths() -> list[str]:
    """System programs and libraries plus this Python's prefixes (the job's python3 is the agent's
    interpreter unless the operator adds another), and TRAINSHED_SANDBOX_RO_PATHS (colon-separated)."""
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt/conda"]
    paths += [f"/etc/{name}" for name in ETC_SAFE]
    paths += [sys.base_prefix, sys.prefix]
    paths += [p for p in os.environ.get("TRAINSHED_SANDBOX_RO_PATHS", "").split(":") if p]
    out: list[str] = []
    for p in paths:
        if p not in out:
            out.append(p)
    return out


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
    network: str = "internet"  # "internet" | "none" | "host"
    read_only_paths: list[str] = field(default_factory=default_read_only_paths)
    device_dir: Path = Path("/dev")
    uid: int | None = None  # the job's uid outside when the agent is root (see job_uid)
    # False: RLIMIT_NPROC only (tests; nodes without writable cgroups fall back anyway)
    use_cgroups: bool = True


class SandboxError(RuntimeError):
    pass


def job_uid(slot: int, base: int | None = None) -> int:
    """The uid for the job in slot `slot` of this node: each concurrent job gets its own, so files,
    signals and RLIMIT_NPROC are per job.  Base from TRAINSHED_JOB_UID_BASE, default 200000."""
    if base is None:
        base = int(os.environ.get("TRAINSHED_JOB_UID_BASE", "200000"))
    return base + 1 + slot


def _bwrap_path(bwrap: str | None = None) -> str | None:
    if bwrap:
        return bwrap if os.access(bwrap, os.X_OK) else None
    return os.environ.get("TRAINSHED_BWRAP") or shutil.which("bwrap")


def check(bwrap: str | None = None) -> tuple[bool, str]:
    """Can this node sandbox jobs?  Tries a real (tiny) sandbox rather than guessing from sysctls."""
    path = _bwrap_path(bwrap)
    if not path or not os.access(path, os.X_OK):
        return False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    if os.geteuid() == 0:
        for tool in ("unshare", "setpriv"):
            if not shutil.which(tool):
                return False, (f"{tool} (util-linux) is missing; the agent runs as root and needs it "
                               "to drop to the job's uid")
    argv = [path, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
            "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    try:
        kw = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20, **kw)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"bubblewrap could not be run: {e}"
    if r.returncode != 0:
        why = (r.stderr or "").strip().splitlines()[-1:] or [f"exit code {r.returncode}"]
        return False, f"user namespaces are refused on this node ({why[0]}); jobs cannot be sandboxed"
    return True, "bubblewrap sandbox available"


# ---------------------------------------------------------------- cgroups

def _own_cgroups() -> dict[str, tuple[str, str]]:
    """controller -> (its mount point, our cgroup path there); "" key for the v2 hierarchy."""
    mounts: dict[str, str] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fstype, _src, opts = (post.split() + ["", "", ""])[:3]
        mnt = pre.split()[4]
        if fstype == "cgroup2":
            mounts.setdefault("", mnt)
        elif fstype == "cgroup":
            for o in opts.split(","):
                if o in ("memory", "pids"):
                    mounts[o] = mnt
    out: dict[str, tuple[str, str]] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            if c in mounts:
                out[c] = (mounts[c], path)
    return out


def _into_leaf(parent: Path) -> None:
    leaf = parent / "trainshed-agent"
    leaf.mkdir(exist_ok=True)
    for pid in (parent / "cgroup.procs").read_text().split():
        with contextlib.suppress(OSError):  # gone meanwhile, or a kernel thread
            (leaf / "cgroup.procs").write_text(pid)


class _Cgroups:
    """The job's cgroups: v1 memory/ and pids/ children of the agent's own cgroups, or one v2 child
    (TRAINSHED_CGROUP_PARENT overrides the v2 parent, e.g. a delegated, controller-enabled slice)."""

    def __init__(self, job_id: str, memory: int | None, pids: int | None):
        self.dirs: dict[str, Path] = {}  # "memory"/"pids" -> dir holding its files
        self.memory, self.pids = memory, pids
        name = f"trainshed-job-{job_id}"
        own = _own_cgroups()
        want = [c for c, v in (("memory", memory), ("pids", pids)) if v]
        v1 = [c for c in want if c in own]
        v2 = [c for c in want if c not in own]
        for c in v1:
            mnt, path = own[c]
            d = Path(mnt + path) / name
            d.mkdir(exist_ok=True)
            self.dirs[c] = d
        if v2 and "" in own:
            mnt, path = own[""]
            parent = Path(os.environ.get("TRAINSHED_CGROUP_PARENT") or (mnt + path))
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            missing = [c for c in v2 if c not in enabled]
            if missing:
                control = " ".join("+" + c for c in missing)
                try:
                    (parent / "cgroup.subtree_control").write_text(control)
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise
                    # v2's "no internal processes": the agent (e.g. a systemd service's own cgroup)
                    # moves into a leaf of its own, then its jobs' cgroups can get controllers.
                    _into_leaf(parent)
                    (parent / "cgroup.subtree_control").write_text(control)
            d = parent / name
            d.mkdir(exist_ok=True)
            for c in v2:
                self.dirs[c] = d
        missing = [c for c in want if c not in self.dirs]
        if missing:
            raise OSError(f"no cgroup hierarchy for {', '.join(missing)}")
        if memory:
            d = self.dirs["memory"]
            if (d / "memory.max").exists():
                (d / "memory.max").write_text(str(memory))
                if (d / "memory.swap.max").exists():
                    (d / "memory.swap.max").write_text("0")
            else:
                (d / "memory.limit_in_bytes").write_text(str(memory))
                if (d / "memory.memsw.limit_in_bytes").exists():  # swap must not widen the limit
                    (d / "memory.memsw.limit_in_bytes").write_text(str(memory))
        if pids:
            (self.dirs["pids"] / "pids.max").write_text(str(pids))

    def add(self, pid: int) -> None:
        for d in set(self.dirs.values()):
            (d / "cgroup.procs").write_text(str(pid))

    @staticmethod
    def _kv(path: Path) -> dict[str, int]:
        try:
            pairs = (line.split() for line in path.read_text().splitlines())
            return {k: int(v) for k, v in (p for p in pairs if len(p) == 2)}
        except (OSError, ValueError):
            return {}

    def limit_hit(self) -> str:
        if "memory" in self.dirs:
            d = self.dirs["memory"]
            events = d / "memory.events"  # v2; v1 says it in memory.oom_control
            ev = self._kv(events) if events.exists() else self._kv(d / "memory.oom_control")
            if ev.get("oom_kill", 0) > 0:
                return f"The job hit its memory limit ({_gb(self.memory)})."
        if "pids" in self.dirs and self._kv(self.dirs["pids"] / "pids.events").get("max", 0) > 0:
            return f"The job hit its process limit ({self.pids} processes)."
        return ""

    def remove(self) -> None:
        for d in set(self.dirs.values()):
            for _ in range(50):  # v1 memory cgroups can take a moment after the last task exits
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        self.dirs = {}


def _gb(n: int | None) -> str:
    return f"{(n or 0) / 1024 ** 3:.1f} GB"


# ---------------------------------------------------------------- the sandbox

def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _ended(pid: int) -> bool:
    """A zombie (or gone): its state, after the command name in parentheses, is Z or X."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2:][:1] in ("Z", "X")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    """A started job.  `pid` is bwrap's own process, `child_pid` the sandbox's init (PID 1 inside)."""

    def __init__(self, proc: subprocess.Popen, child_pid: int | None, host_port: int | None,
                 cgroups: _Cgroups | None, limits_note: str, cleanups: list):
        self._proc = proc
        self.pid = proc.pid
        self.child_pid = child_pid
        self.stdout = proc.stdout
        self.host_port = host_port
        self.limits_note = limits_note  # how limits are enforced here, for the Compute page / doctor
        self._cgroups = cgroups
        self._cleanups = cleanups
        self._ns = _pid_ns(child_pid) if child_pid else None
        self._sandboxed = child_pid is not None
        self._limit_hit = ""
        self._uid = None  # unsandboxed with its own uid: its processes are found by uid

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """The job's exit code, once every process of the sandbox is gone (the kernel empties the
        PID namespace when its init exits; this waits for that to finish)."""
        code = self._proc.wait(timeout)
        if self._sandboxed:
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                self._signal_all(signal.SIGKILL)
                time.sleep(0.01)
        return code

    def pids(self) -> list[int]:
        """Host pids of every process still in the sandbox's PID namespace (or the session,
        unsandboxed). Zombies are not counted: they have ended, and the sandbox's init, orphaned
        when bwrap exits, waits for whoever reaps it (the host's init may take a second)."""
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                if self._sandboxed:
                    if self._ns and _pid_ns(pid) == self._ns:
                        out.append(pid)
                elif self._uid is not None:
                    if os.stat(f"/proc/{pid}").st_uid == self._uid:
                        out.append(pid)
                elif os.getsid(pid) == self.pid:  # a setsid child escapes this: unsandboxed is best effort
                    out.append(pid)
            except OSError:
                pass
        return [pid for pid in out if not _ended(pid)]

    def _signal_all(self, sig: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, sig)

    def stop(self, grace: float) -> int:
        """SIGTERM to every process of the job, SIGKILL after `grace` seconds; returns when all are gone."""
        if self._proc.poll() is None:
            self._signal_all(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(grace)
        # Killing the namespace's init makes the kernel kill every other process in it.
        if self._sandboxed and self.child_pid and _pid_ns(self.child_pid) == self._ns:
            with contextlib.suppress(OSError):
                os.kill(self.child_pid, signal.SIGKILL)
        self._signal_all(signal.SIGKILL)
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                self._proc.kill()
        code = self._proc.wait()
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            self._signal_all(signal.SIGKILL)
            time.sleep(0.02)
        return code

    def limit_hit(self) -> str:
        """"" or why the job was stopped by a limit (still answers after cleanup())."""
        if self._cgroups and self._cgroups.dirs:
            self._limit_hit = self._cgroups.limit_hit()
        return self._limit_hit

    def cleanup(self) -> None:
        """Stop what is left, remove the job's cgroups, stop slirp4netns, remove temporary files."""
        if self._proc.poll() is None or self.pids():
            self.stop(0)
        if self._cgroups:
            self.limit_hit()
            self._cgroups.remove()
        while self._cleanups:
            with contextlib.suppress(Exception):
                self._cleanups.pop()()


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, uid)


# Run as root in a private mount namespace (unshare(1)): a tmpfs stage, each source bind-mounted
# to its name there (stage/N, or stage/etc/NAME for /etc's entries) by one mount(8) reading a table
# of them, then exec the rest (setpriv ... bwrap ...).  Arguments: stage table file-mountpoint...
# -- command...  One mount(8) for all: a mkdir(1) and a mount(8) per source (~35 of each, mount(8)
# reading the mount table each time) were 0.2-0.3 s of the sandbox's start.
_STAGE_SCRIPT = r'''set -e
stage=$1 table=$2; shift 2
mount -t tmpfs -o mode=0755,size=64k trainshed-stage "$stage"
mkdir -m 0755 "$stage/etc"
while [ "$1" != "--" ]; do : > "$stage/$1"; shift; done
shift
mount -a -T "$table"
exec "$@"
'''


def _fstab_field(path: str) -> str:
    """A path as an fstab field: whitespace and backslashes octal-escaped, as mount(8) reads them."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def _stage_table(stage: str, staged: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The stage's mount table (a bind of each source to its name in the stage; folders made by
    mount(8)) and the names of the mount points that must be files (the sources that are not
    folders)."""
    lines, files = [], []
    for source, name in staged:
        is_dir = os.path.isdir(source)
        if not is_dir:
            files.append(name)
        options = "rbind,X-mount.mkdir" if is_dir else "rbind"
        lines.append(f"{_fstab_field(source)} {_fstab_field(f'{stage}/{name}')} none {options} 0 0\n")
    return "".join(lines), files


def _in_etc(dst: str, kind: str) -> bool:
    """A read-only entry of /etc itself (staged into stage/etc when the agent is root)."""
    return kind == "ro" and dst.startswith("/etc/") and dst.count("/") == 2


def _data_fd(text: str) -> int:
    """A pipe's read end holding `text` (for bwrap's --ro-bind-data)."""
    r, w = os.pipe()
    os.write(w, text.encode())
    os.close(w)
    return r


def start(spec: SandboxSpec) -> Sandbox:
    bwrap = _bwrap_path()
    if not bwrap:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    if spec.network not in ("internet", "none", "host"):
        raise ValueError(f"network must be internet, none or host, not {spec.network!r}")
    root = os.geteuid() == 0
    if root and spec.uid in (None, 0):
        raise SandboxError("the agent runs as root: give the job its own uid (job_uid(slot))")
    outside_uid = spec.uid if root else os.getuid()
    cleanups: list = []
    fds_to_close: list[int] = []
    try:
        workspace = Path(spec.workspace)
        workspace.mkdir(parents=True, exist_ok=True)
        if root:
            _chown_tree(workspace, outside_uid)

        # (host source, destination, kind) where kind is "ro", "rw" or "dev".
        binds: list[tuple[str, str, str]] = []
        for p in spec.read_only_paths:
            if os.path.islink(p) and p in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
                continue  # merged /usr: made a symlink below
            if os.path.exists(p):
                binds.append((p, p, "ro"))
        binds.append((str(workspace), WORKSPACE, "rw"))
        for m in spec.inputs:
            binds.append((str(m.host), m.inside, "rw" if m.writable else "ro"))
        # Only these GPUs' device nodes (and the control devices): other GPUs do not exist inside.
        for n in spec.gpu_indices:
            dev = Path(spec.device_dir) / f"nvidia{n}"
            if not dev.exists():
                raise SandboxError(f"GPU {n} has no device node {dev}")
            binds.append((str(dev), f"/dev/nvidia{n}", "dev"))
        if spec.gpu_indices:
            for name in GPU_CONTROL_DEVICES:
                dev = Path(spec.device_dir) / name
                if dev.exists():
                    binds.append((str(dev), f"/dev/{name}", "dev"))

        args = ["--unshare-user", "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID),
                "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "trainshed-job", "--die-with-parent", "--new-session", "--clearenv"]
        if spec.network != "host":
            args.append("--unshare-net")
        for k, v in spec.env.items():
            args += ["--setenv", k, v]
        args += ["--tmpfs", "/"]
        for p in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(p) and p in spec.read_only_paths:
                args += ["--symlink", os.readlink(p), p]

        stage = None
        if root:
            stage = tempfile.mkdtemp(prefix=f"trainshed-stage-{spec.job_id}-")
            cleanups.append(lambda: os.rmdir(stage))
        flag = {"ro": "--ro-bind", "rw": "--bind", "dev": "--dev-bind"}
        binds.sort(key=lambda b: b[1].count("/"))  # parents before children (e.g. /workspace/input)
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", WORKSPACE]  # noqa: S108 (its own)
        # As root, what the job sees of /etc is staged as one folder (stage/etc), bound once: bwrap
        # reads the whole mount table for every bind, and ~25 binds of /etc's entries were about
        # half of its own start.  (source, its name in the stage) for the stage's table.
        staged: list[tuple[str, str]] = []
        if stage and any(_in_etc(dst, kind) for _, dst, kind in binds):
            args += ["--ro-bind", f"{stage}/etc", "/etc"]
        for i, (src, dst, kind) in enumerate(binds):
            if stage and _in_etc(dst, kind):
                staged.append((src, "etc/" + dst[len("/etc/"):]))
                continue
            if stage:
                staged.append((src, str(i)))
            args += [flag[kind], f"{stage}/{i}" if stage else src, dst]
        args += ["--chdir", WORKSPACE]

        # Who the job is inside, and the names it resolves (nothing from the node's /etc).
        etc = {
            "/etc/passwd": (f"root:x:0:0:root:/root:/bin/sh\njob:x:{INSIDE_UID}:{INSIDE_UID}:Trainshed job:"
                            f"{WORKSPACE}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
            "/etc/group": f"root:x:0:\njob:x:{INSIDE_UID}:\nnogroup:x:65534:\n",
            "/etc/hosts": "127.0.0.1 localhost trainshed-job\n::1 localhost\n",
        }
        if spec.network == "internet":
            etc["/etc/resolv.conf"] = "nameserver 10.0.2.3\n"  # slirp4netns' DNS forwarder
        elif spec.network == "host" and os.path.exists("/etc/resolv.conf"):
            etc["/etc/resolv.conf"] = Path("/etc/resolv.conf").read_text()
        for dst, text in etc.items():
            fd = _data_fd(text)
            fds_to_close.append(fd)
            args += ["--ro-bind-data", str(fd), dst]

        # Limits: cgroups where the agent can make them, else RLIMIT_NPROC (and no memory limit).
        cgroups, note = None, ""
        if spec.memory_bytes or spec.max_processes:
            if spec.use_cgroups:
                try:
                    cgroups = _Cgroups(spec.job_id, spec.memory_bytes, spec.max_processes)
                    note = "memory and process limits through cgroups"
                except OSError as e:
                    note = f"cgroups not usable ({e})"
            if cgroups is None:
                note = (((note + "; ") if note else "") + "process limit through RLIMIT_NPROC (a hit is not "
                        "reported)" + ("; memory is not limited" if spec.memory_bytes else ""))
        argv = list(spec.argv)
        if spec.max_processes and cgroups is None:
            # No cgroup: RLIMIT_NPROC, set inside by prlimit(1) before the job's command.  The kernel
            # counts it per (user namespace, uid), so only this sandbox's processes count.
            argv = ["/usr/bin/prlimit", f"--nproc={spec.max_processes}:{spec.max_processes}", "--"] + argv
        status_r, status_w = os.pipe()
        block_r, block_w = os.pipe()
        fds_to_close += [status_w, block_r]
        args += ["--remount-ro", "/"]  # its own root: nothing to write there but /tmp and the workspace
        args += ["--json-status-fd", str(status_w), "--block-fd", str(block_r), "--"] + argv
        cmd = [bwrap] + args
        if root:
            # The job's uid outside, no supplementary groups, no capabilities.
            cmd = ["setpriv", f"--reuid={outside_uid}", f"--regid={outside_uid}", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", "--"] + cmd
            placeholders = [dst[1:] for dst in etc] if any(n.startswith("etc/") for _, n in staged) else []
            table, files = _stage_table(stage, staged)
            fd, table_path = tempfile.mkstemp(prefix=f"trainshed-stage-{spec.job_id}-", suffix=".fstab")
            with os.fdopen(fd, "w") as out:
                out.write(table)
            cleanups.append(lambda: os.unlink(table_path))
            cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _STAGE_SCRIPT, "sh",
                   stage, table_path, *files, *placeholders, "--"] + cmd
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, pass_fds=fds_to_close,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, start_new_session=True)
        for fd in fds_to_close:
            os.close(fd)
        fds_to_close = []
        cleanups.append(lambda: os.close(block_w))

        status = os.fdopen(status_r, "rb", buffering=0)
        cleanups.append(status.close)
        child_pid = _read_child_pid(status, proc)

        # Held before the job's first instruction: into its cgroup, network, port forward.
        if cgroups:
            cgroups.add(child_pid)
        sandbox = Sandbox(proc, child_pid, None, cgroups, note, cleanups)
        if spec.network == "internet":
            sandbox.host_port = _slirp(child_pid, spec.port, outside_uid if root else None, cleanups)
        elif spec.network == "host":
            sandbox.host_port = spec.port
        try:
            os.write(block_w, b"1")  # go
        except BrokenPipeError:
            # bwrap ended before the job's first instruction: say what it printed, not a bare errno.
            raise SandboxError(f"bubblewrap ended before the job started: {_ended_with(proc)}") from None
        return sandbox
    except BaseException:
        for fd in fds_to_close:
            with contextlib.suppress(OSError):
                os.close(fd)
        if "proc" in locals() and proc.poll() is None:
            proc.kill()
            proc.wait()
        if "cgroups" in locals() and cgroups:
            cgroups.remove()
        while cleanups:
            with contextlib.suppress(Exception):
                cleanups.pop()()
        raise


def _ended_with(proc) -> str:
    """What an ended bwrap printed, else its exit code."""
    out = proc.stdout.read().decode(errors="replace").strip() if proc.wait(5) is not None else ""
    return out or f"exit code {proc.returncode}"


def _read_child_pid(status, proc, timeout: float = 20) -> int:
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([status], [], [], left)[0]:
            raise SandboxError("bubblewrap did not start in time")
        chunk = status.read(4096)
        if not chunk:
            raise SandboxError(f"bubblewrap failed: {_ended_with(proc)}")
        buf += chunk
    return int(json.loads(buf.split(b"\n", 1)[0])["child-pid"])


def _slirp(child_pid: int, port: int | None, as_uid: int | None, cleanups: list) -> int | None:
    """Outbound network through slirp4netns (no route to the host's loopback), and the job's port
    forwarded from 127.0.0.1:<free port> on the host.  Returns that host port."""
    slirp = shutil.which("slirp4netns")
    if not slirp:
        raise SandboxError("slirp4netns is not installed (apt-get install slirp4netns), "
                           "or use network='none'")
    rundir = tempfile.mkdtemp(prefix="trainshed-net-")
    cleanups.append(lambda: shutil.rmtree(rundir, ignore_errors=True))
    if as_uid is not None:
        os.chown(rundir, as_uid, as_uid)
    api = os.path.join(rundir, "api.sock")
    # The network namespace and the user namespace that owns it, held now: bwrap's child moves on to a
    # nested user namespace (for --uid) in which slirp4netns would have no right to the network.
    net_fd = os.open(f"/proc/{child_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        user_fd = fcntl.ioctl(net_fd, NS_GET_USERNS)
    except OSError:
        os.close(net_fd)
        raise
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()  # slirp4netns exits when our end closes (also if the agent dies)
    cmd = [slirp, "--configure", "--mtu=65520", "--disable-host-loopback", "--api-socket", api,
           "--ready-fd", str(ready_w), "--exit-fd", str(exit_r), f"--userns-path=/proc/self/fd/{user_fd}",
           "--netns-type=path", f"/proc/self/fd/{net_fd}", "tap0"]
    if as_uid is not None:  # the job's uid owns its user namespace: no need for root here
        cmd = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups", "--"] + cmd
    try:
        proc = subprocess.Popen(cmd, pass_fds=(ready_w, exit_r, net_fd, user_fd), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    finally:
        for fd in (ready_w, exit_r, net_fd, user_fd):
            os.close(fd)

    def stop_slirp():
        os.close(exit_w)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    cleanups.append(stop_slirp)
    with os.fdopen(ready_r, "rb") as ready:
        if not select.select([ready], [], [], 20)[0] or not ready.read(1):
            why = proc.stderr.read1(4096).decode(errors="replace") if proc.poll() is not None else "timeout"
            raise SandboxError("slirp4netns did not start: " + why)
    if port is None:
        return None
    for _ in range(5):  # the free port can be taken between our probe and slirp4netns' bind
        host_port = _free_port()
        req = {"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1",
                                                        "host_port": host_port, "guest_port": port}}
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(api)
            s.sendall(json.dumps(req).encode())
            s.shutdown(socket.SHUT_WR)
            reply = json.loads(s.makefile().read() or "{}")
        if "error" not in reply:
            return host_port
    raise SandboxError(f"slirp4netns could not forward port {port}: {reply}")


def start_unsandboxed(spec: SandboxSpec) -> Sandbox:
    """Only for the node owner's own jobs on a node where check() fails: a plain process in a new
    session with exactly spec.env, cwd the workspace.  No isolation; stop() ends its session."""
    workspace = Path(spec.workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    kw = {}
    if os.geteuid() == 0 and spec.uid not in (None, 0):
        _chown_tree(workspace, spec.uid)
        kw = {"user": spec.uid, "group": spec.uid, "extra_groups": []}
    proc = subprocess.Popen(list(spec.argv), cwd=workspace, env=dict(spec.env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kw)
    box = Sandbox(proc, None, spec.port, None, "not sandboxed: no limits", [])
    if kw:
        box._uid = spec.uid
    return box
