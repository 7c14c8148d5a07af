#!/usr/bin/env python
"""Transfer benchmarks: PostgreSQL, gunicorn as README's production section runs it (gthread),
on loopback. Each subject runs right after its floor in the same server — a bare WSGI upload (the
body read and written once) or a bare WSGI download (a file streamed in chunks), see
bench/transfer_floor.py — and prints both and the ratio:

- one big file (BENCH_TRANSFER_MB, default 1024) and a folder of BENCH_SMALL_FILES (10,000) files
  of 4 KiB: uploaded through the API (SDK), the CLI and the browser's form; downloaded through
  the API (the tar, read to the end) and the CLI (`dataset download`, unpacked to disk);
- a folder is measured against its own floor, which writes (or reads) its files one by one
  as the subject must: a tar unpacked into files as it arrives, the files sent as a tar; the floor
  of its bytes as one stream is in the note;
- bytes the server wrote per byte uploaded (its workers' /proc/PID/io write_bytes), the CPU time
  of the server's workers and of the CLI (user time is load-independent; system time is mostly
  creating files), the server workers' peak memory and each CLI run's.

Writes bench/RESULTS.md (its own section). Not a test: figures vary with the machine. Goal: API
and CLI within 1.5× the floor, each byte written once, memory flat in the size.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from settings_env import server_env  # bench/settings_env.py: this script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "trainshed_bench_transfers")
BIG_MB = int(os.environ.get("BENCH_TRANSFER_MB", "1024"))
SMALL_FILES = int(os.environ.get("BENCH_SMALL_FILES", "10000"))
# BENCH_ONLY_SMALL=1: only the small-files subjects, printed and not written to RESULTS.md.
ONLY_SMALL = os.environ.get("BENCH_ONLY_SMALL") == "1"
# BENCH_ONLY_BIG=1: only the one-big-file subjects (use with BENCH_TRANSFER_MB=256), printed only.
ONLY_BIG = os.environ.get("BENCH_ONLY_BIG") == "1"
# BENCH_TRANSFER_ROUNDS: each subject and its floor run this many times, alternated; medians shown.
# On a shared machine one round's ratio is noise (the same upload's floor took 2.9 to 11.6 s).
ROUNDS = int(os.environ.get("BENCH_TRANSFER_ROUNDS", "3"))
VAR = Path(tempfile.mkdtemp(prefix="trainshed-bench-transfers-"))
FLOOR = VAR / "floor"
FLOOR.mkdir()
BIN = Path(sys.executable).parent

ENV = {
    **os.environ,
    **server_env(DB, VAR / "var"),
    "TRAINSHED_MAX_UPLOAD_BYTES": str(max(2 * 1024**3, 2 * BIG_MB * 1024**2)),
    "BENCH_FLOOR_DIR": str(FLOOR),
    "TRAINSHED_CONFIG_DIR": str(VAR / "cli"),
}


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True)


def setup() -> dict:
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f"CREATE DATABASE {DB}")
    os.environ.update(ENV)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.api_keys import api_key_create
    from accounts.services import user_create
    from billing.services import account_for, credits_grant
    from projects.models import Project

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the form page is rendered
    me = user_create(email="bench-transfers@example.com", password="bench-pass", verified=True)
    credits_grant(account=account_for(me), amount=1000, note="bench")
    return {"user": me, "project": Project.objects.personal_of(me),
            "key": api_key_create(user=me, name="bench")[1]}


def session_for(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    s = SessionStore()
    s[SESSION_KEY], s[BACKEND_SESSION_KEY] = str(user.pk), settings.AUTHENTICATION_BACKENDS[0]
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    return s.session_key


def readme_gunicorn(port: int) -> list[str]:
    """README's production command (worker class, workers, threads), on our port, serving the
    floor beside Trainshed."""
    section = (ROOT / "README.md").read_text().split("## Production", 1)[1]
    line = next(li for li in section.splitlines() if li.startswith(".venv/bin/gunicorn"))
    args = line.split("#", 1)[0].split()
    args[0] = str(BIN / "gunicorn")
    args[args.index("config.wsgi")] = "bench.transfer_floor:application"
    args[args.index("-b") + 1] = f"127.0.0.1:{port}"
    return [*args, "--log-level", "warning"]


def start_server() -> tuple[subprocess.Popen, int, list[str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = readme_gunicorn(port)
    proc = subprocess.Popen(args, cwd=ROOT, env=ENV)
    import httpx

    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/me", timeout=1)
            return proc, port, args
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def workers(proc) -> list[int]:
    out = sh("pgrep", "-P", str(proc.pid)).stdout.split()
    return [int(p) for p in out]


def written_by(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        text = Path(f"/proc/{pid}/io").read_text()
        total += int(re.search(r"^write_bytes: (\d+)", text, re.M).group(1))
    return total


def cpu_by(pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds the server's workers have used: user time is Python's own
    work, independent of the machine's load; system time is mostly creating files, which this
    shared machine's disk makes noisy."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / tick, system / tick


def peak_mib(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        text = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"^VmHWM:\s+(\d+) kB", text, re.M).group(1)) / 1024)
    return max(peaks)


# ---- transfers -----------------------------------------------------------------------------------


def timed(fn) -> float:
    """Seconds `fn` takes, started with no dirty page in the cache: a transfer does not pay for
    writing back what the one before it left (1 GiB or more), whichever of a floor and its
    subject ran first (without this the same bare upload's server system time ranged 2.1–4.1 s)."""
    os.sync()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def floor_upload(base: str, file: Path) -> None:
    import httpx

    with file.open("rb") as body:
        r = httpx.post(f"{base}/bench-floor/upload", content=body, timeout=None,
                       headers={"Content-Length": str(file.stat().st_size)})
    r.raise_for_status()


def floor_download(base: str, name: str, into: Path | None) -> None:
    """The bare download, read to the end (into a file on disk when `into` is given, as the CLI
    writes its files)."""
    import httpx

    with httpx.stream("GET", f"{base}/bench-floor/files/{name}", timeout=None) as r:
        r.raise_for_status()
        out = into.open("wb") if into else None
        for chunk in r.iter_raw():
            if out:
                out.write(chunk)
        if out:
            out.close()


def floor_folder_upload(base: str, folder: Path) -> None:
    """The bare upload of a folder: a tar made while it is sent, unpacked into files as it arrives."""
    import httpx

    from bench.transfer_floor import tar_members, tar_stream

    members = tar_members(folder)
    length = sum(len(h) + size + -size % 512 for _p, h, size in members) + 1024
    r = httpx.post(f"{base}/bench-floor/unpack", content=tar_stream(members), timeout=None,
                   headers={"Content-Length": str(length)})
    r.raise_for_status()


def floor_folder_download(base: str, into: Path | None) -> None:
    """The bare download of a folder's files as a tar (read to the end, or unpacked into `into`)."""
    import httpx

    from bench.transfer_floor import unpack

    with httpx.stream("GET", f"{base}/bench-floor/tar/small", timeout=None) as r:
        r.raise_for_status()
        if into is None:
            for _chunk in r.iter_raw():
                pass
            return

        class Body:
            chunks, pending = r.iter_raw(), b""

            def read(self, size=-1):
                while not self.pending:
                    self.pending = next(self.chunks, None)
                    if self.pending is None:
                        self.pending = b""
                        return b""
                out, self.pending = self.pending[:size], self.pending[size:]
                return out

        unpack(Body(), into)


def cli(*args) -> float:
    """Runs the CLI; returns its peak memory (MiB), as GNU time reports it (a child forked from
    this process would count this process's memory before its exec)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", str(BIN / "trainshed"), *args], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode:
        raise SystemExit(f"trainshed {' '.join(args)} failed: {result.stderr}")
    peak, user, system = result.stderr.strip().splitlines()[-1].split()
    LAST_CLI_CPU.append((float(user), float(system)))
    return int(peak) / 1024


LAST_CLI_CPU: list[tuple[float, float]] = []  # (user, system) seconds of each CLI run
SEQ = itertools.count(1)  # names of the datasets the rounds make


def sdk():
    from trainshed import Trainshed

    return Trainshed(api_url=ENV["TRAINSHED_API_URL"], api_key=ENV["TRAINSHED_API_KEY"]).sync


def api_download(base: str, key: str, dataset_id: str) -> None:
    import httpx

    with httpx.stream("GET", f"{base}/api/v1/datasets/{dataset_id}/download", params={"format": "tar"},
                      headers={"Authorization": f"Bearer {key}"}, timeout=None) as r:
        r.raise_for_status()
        for _chunk in r.iter_raw():
            pass


def form_upload(base: str, session: str, name: str, file: Path) -> None:
    import httpx

    csrf = "b" * 32
    with file.open("rb") as body:
        r = httpx.post(f"{base}/datasets/new/", timeout=None,
                       cookies={"sessionid": session, "csrftoken": csrf},
                       headers={"X-CSRFToken": csrf, "Referer": f"{base}/datasets/new/"},
                       data={"name": name, "active_project_id": ENV["BENCH_PROJECT"]},
                       files=[("files", (file.name, body, "application/octet-stream"))])
    if r.status_code != 302:
        raise SystemExit(f"the form upload answered {r.status_code}: {r.text[:500]}")


def big_subjects(base, big, size, made, cli_peak, out, pair, session, w) -> None:
    def api_up():
        made["api"] = sdk().datasets.create(f"big-api-{next(SEQ)}", path=big)["id"]

    pair(f"upload {BIG_MB} MiB file: API (SDK)", lambda: floor_upload(base, big), api_up, size)

    def cli_up():
        cli_peak["up"] = cli("dataset", "create", f"big-cli-{next(SEQ)}", "--path", str(big))

    pair(f"upload {BIG_MB} MiB file: CLI", lambda: floor_upload(base, big), cli_up, size)
    pair(f"upload {BIG_MB} MiB file: browser form", lambda: floor_upload(base, big),
         lambda: form_upload(base, session, f"big-form-{next(SEQ)}", big), size)
    shutil.copy(big, FLOOR / "big.bin")
    pair(f"download {BIG_MB} MiB: API (tar, read to the end)",
         lambda: floor_download(base, "big.bin", None),
         lambda: api_download(base, w["key"], made["api"]), 0)

    def sdk_down():
        shutil.rmtree(out, ignore_errors=True)
        sdk().datasets.download(made["api"], out)

    pair(f"download {BIG_MB} MiB: SDK in this process (unpacked to disk)",
         lambda: floor_download(base, "big.bin", VAR / "floor-copy.bin"), sdk_down, 0)

    def cli_down():
        shutil.rmtree(out, ignore_errors=True)
        cli_peak["down"] = cli("dataset", "download", made["api"], str(out))

    pair(f"download {BIG_MB} MiB: CLI (unpacked to disk)",
         lambda: floor_download(base, "big.bin", VAR / "floor-copy.bin"), cli_down, 0)
    (VAR / "floor-copy.bin").unlink()
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    w = setup()
    ENV["TRAINSHED_API_KEY"] = w["key"]
    ENV["BENCH_PROJECT"] = str(w["project"].pk)
    session = session_for(w["user"])
    big = VAR / "big.bin"
    with big.open("wb") as f:  # random bytes: nothing compresses them
        for _ in range(0 if ONLY_SMALL else BIG_MB):
            f.write(os.urandom(1024 * 1024))
    small = VAR / "small"
    for i in range(0 if ONLY_BIG else SMALL_FILES):
        folder = small / f"part-{i // 1000:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.txt").write_bytes((f"{i:05d} " * 700)[:4096].encode())
    small_bytes = SMALL_FILES * 4096
    packed = VAR / "small.bin"  # the folder's bytes as one stream: the floor for its upload
    packed.write_bytes(b"".join(p.read_bytes() for p in sorted(small.rglob("*.txt"))))

    proc, port, args = start_server()
    base = f"http://127.0.0.1:{port}"
    ENV["TRAINSHED_API_URL"] = base
    rows = []  # (label, seconds, floor seconds, ratio, note)

    def pair(label, floor, subject, size, note="", one_stream=None):
        """`one_stream`: for a folder, also the floor of its bytes as one stream (one file).
        ROUNDS times the floor then the subject; each figure is the median of the rounds, the
        ratio the median of each round's ratio."""
        pids = workers(proc)
        if one_stream is not None:
            single = median(timed(one_stream) for _ in range(ROUNDS))
        got = []  # per round: (floor s, subject s, floor cpu, subject cpu, floor written, written, CLI cpu)
        for _ in range(ROUNDS):
            cpu0, floor_before = cpu_by(pids), written_by(pids)
            f = timed(floor)
            LAST_CLI_CPU.clear()
            cpu1, floor_written = cpu_by(pids), written_by(pids) - floor_before
            before = written_by(pids)
            s = timed(subject)
            written = written_by(pids) - before
            cpu2 = cpu_by(pids)
            cli_cpu = LAST_CLI_CPU.pop() if LAST_CLI_CPU else None
            LAST_CLI_CPU.clear()
            got.append((f, s, (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]), (cpu2[0] - cpu1[0], cpu2[1] - cpu1[1]),
                        floor_written, written, cli_cpu))
        f, s = median(g[0] for g in got), median(g[1] for g in got)
        ratio = median(g[1] / g[0] for g in got)
        fu, fs = median(g[2][0] for g in got), median(g[2][1] for g in got)
        su, ss = median(g[3][0] for g in got), median(g[3][1] for g in got)
        if got[0][6] is not None:
            cu, cs = median(g[6][0] for g in got), median(g[6][1] for g in got)
            note = (note + "; " if note else "") + f"CLI CPU user+sys {cu:.2f}+{cs:.2f} s"
        note = (note + "; " if note else "") + (f"server CPU user+sys {su:.2f}+{ss:.2f} s "
                                                f"(floor {fu:.2f}+{fs:.2f} s)")
        if size:
            note = (note + "; " if note else "") + (
                f"server wrote {median(g[5] for g in got) / size:.2f}× the bytes "
                f"(floor {median(g[4] for g in got) / size:.2f}×)")
        if ROUNDS > 1:
            note = (note + "; " if note else "") + ("rounds' ratios " + ", ".join(
                f"{g[1] / g[0]:.2f}" for g in got))
        if one_stream is not None:
            note = ((note + "; " if note else "")
                    + f"{s / single:.1f}× its bytes as one stream ({single:.2f} s)")
        rows.append((label, s, f, ratio, note))
        print(f"{label}: {s:.2f} s = {ratio:.2f}× floor ({f:.2f} s){'; ' + note if note else ''}")

    try:
        # What every CLI subject below pays before it transfers anything: Python and the CLI start.
        start = timed(lambda: cli("--help"))
        rows.append(("CLI start alone (`trainshed --help`), included in every CLI row", start, start, 1.0,
                     ""))
        print(f"CLI start: {start:.2f} s")
        size = BIG_MB * 1024**2
        made = {}
        cli_peak = {}
        out = VAR / "out"
        if not ONLY_SMALL:
            big_subjects(base, big, size, made, cli_peak, out, pair, session, w)
        if ONLY_BIG:
            print(f"server workers' peak memory {peak_mib(workers(proc)):.0f} MiB; CLI peak {cli_peak}")
            return

        def small_up():
            made["small"] = f"small-cli-{next(SEQ)}"
            cli_peak["small-up"] = cli("dataset", "create", made["small"], "--path", str(small))

        pair(f"upload {SMALL_FILES:,} × 4 KiB folder: CLI", lambda: floor_folder_upload(base, small),
             small_up, small_bytes, one_stream=lambda: floor_upload(base, packed))
        from resources.models import Dataset

        small_id = str(Dataset.objects.get(name=made["small"]).pk)
        shutil.copy(packed, FLOOR / "small.bin")
        shutil.copytree(small, FLOOR / "small")

        # Each download (and each floor's) fills a new folder: deleting the last one's 10,000 files
        # is not part of a download, and the kernel pays for it on the next creates.
        def small_down():
            cli_peak["small-down"] = cli("dataset", "download", small_id, str(VAR / f"out-{next(SEQ)}"))

        pair(f"download {SMALL_FILES:,} × 4 KiB folder: API (tar)",
             lambda: floor_folder_download(base, None),
             lambda: api_download(base, w["key"], small_id), 0,
             one_stream=lambda: floor_download(base, "small.bin", None))
        pair(f"download {SMALL_FILES:,} × 4 KiB folder: CLI (unpacked to disk)",
             lambda: floor_folder_download(base, VAR / f"floor-unpacked-{next(SEQ)}"), small_down, 0,
             one_stream=lambda: floor_download(base, "small.bin", VAR / "floor-copy.bin"))
        server_peak = peak_mib(workers(proc))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(VAR, ignore_errors=True)
    memory = (f"server workers' peak memory {server_peak:.0f} MiB; CLI peak memory (MiB) "
              + ", ".join(f"{k} {v:.0f}" for k, v in cli_peak.items()))
    print(memory)
    if not ONLY_SMALL:
        write_results(rows, args, memory)


def write_results(rows, args, memory) -> None:
    from bench.results import write_section

    command = " ".join(["gunicorn", *args[1:-2]]).replace("bench.transfer_floor:application", "…")
    lines = [
        f"Run {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}), PostgreSQL, `{command}` "
        "on loopback, DEBUG off. Produced by `make bench` (bench/transfers.py). Each subject ran "
        f"{ROUNDS} time(s), each right after its floor in the same server (medians shown; dirty pages "
        "flushed to disk before each transfer): a bare WSGI upload (the body written once to a "
        "file) or a bare WSGI download streamed in chunks (read to the end; written to a file "
        "when the CLI's subject writes files); for the folder, a tar unpacked into its files as it "
        "arrives, or its files sent as a tar (read to the end, or unpacked into files), with its "
        "bytes as one stream in the note.",
        "",
        "| subject | seconds | floor seconds | × floor | note |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for label, s, f, ratio, note in rows:
        lines.append(f"| {label} | {s:.2f} | {f:.2f} | {ratio:.2f} | {note} |")
    lines += ["", memory + "."]
    write_section("transfers", lines)


if __name__ == "__main__":
    main()
