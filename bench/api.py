#!/usr/bin/env python
"""API list benchmarks: PostgreSQL, gunicorn (2 workers) on loopback, wrk as the load generator;
the data of bench/pages.py (a person in 501 projects, projects of 10 and 10,000 jobs and datasets,
1,000 members).

Prints, for each list, its query count at the small and the large size, its median latency under
load beside the floor (`GET /api/v1/me` with the same key, run right before it: PAIRS pairs, the
median ratio kept), and the CPU time of one request in-process (Django's test client, median of
`time.process_time()` over CPU_REQUESTS requests) beside `/me`'s, which a loaded machine skews less.
Then the CLI's `trainshed job list` at 10 and at 10,000 jobs (wall time, and how many requests and
connections gunicorn saw). Writes its section of bench/RESULTS.md. Run with `make bench`.

    BENCH_DB=ts_api_bench .venv/bin/python bench/api.py                 # seeds (a few minutes)
    BENCH_REUSE=1 BENCH_DB=ts_api_bench .venv/bin/python bench/api.py   # reuses that seed

Not a test: figures vary with the machine. Goal: the same query count at both sizes; `GET
/projects` (501 projects) and `GET /jobs` (10,000 jobs) within 4× `/me`.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import (  # noqa: E402  (after the path is set)
    BIG,
    DURATION,
    PAIRS,
    PORT,
    VAR,
    prepare,
    start_gunicorn,
    wrk_median_ms,
)

CPU_REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "40"))
API = "/api/v1"


def keys_for(w: dict) -> dict:
    from accounts.api_keys import api_key_create

    return {name: api_key_create(user=w[name], name="bench")[1] for name in ("me", "few", "many")}


def headers_for(key: str, project=None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if project is not None:
        headers["X-Trainshed-Project"] = str(project.pk)
    return headers


def in_process(path: str, headers: dict) -> tuple[int, float]:
    """(queries of one request, median CPU ms of one request) through Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(path, headers=headers)  # the key's last-use write happens once a minute: not counted
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    queries = len(ctx.captured_queries)  # now: a reconnect during the requests below clears the log
    times = []
    for _ in range(CPU_REQUESTS):
        start = time.process_time()
        client.get(path, headers=headers)
        times.append((time.process_time() - start) * 1000)
    return queries, statistics.median(times)


def cursor_deep_in(path: str, headers: dict, pages: int) -> str:
    """The `next` cursor after `pages` pages of 100: to measure a page far into the list."""
    from django.test import Client

    client, cursor = Client(), None
    for _ in range(pages):
        cursor = client.get(path + (f"?cursor={cursor}" if cursor else ""), headers=headers).json()["next"]
    return cursor


def cli_job_list(key: str, project) -> tuple[float, int]:
    """Wall ms of `trainshed job list` in `project` (median of 3) and the lines it printed."""
    trainshed = shutil.which("trainshed", path=str(Path(sys.executable).parent)) or "trainshed"
    env = {**os.environ, "TRAINSHED_API_URL": f"http://127.0.0.1:{PORT}", "TRAINSHED_API_KEY": key,
           "TRAINSHED_PROJECT": str(project.pk), "TRAINSHED_CONFIG_DIR": str(VAR / "cli")}
    runs, lines = [], 0
    for _ in range(3):
        start = time.monotonic()
        out = subprocess.run([trainshed, "job", "list"], env=env, check=True, capture_output=True,
                             text=True).stdout
        runs.append((time.monotonic() - start) * 1000)
        lines = len(out.splitlines()) - 1
    return statistics.median(runs), lines


ACCESS_LOG = VAR / "access.log"


def requests_and_connections(action) -> tuple[int, int]:
    """How many requests gunicorn answered while `action` ran, and on how many connections (the
    distinct client ports in its access log: a connection keeps its port)."""
    before = ACCESS_LOG.read_text().count("\n") if ACCESS_LOG.exists() else 0
    action()
    time.sleep(0.5)  # the workers write their lines as each answer goes out
    lines = ACCESS_LOG.read_text().splitlines()[before:]
    return len(lines), len({line.split()[0] for line in lines})


def seeded() -> dict:
    """bench/pages.py's data: seeded now, or with BENCH_REUSE=1 read back from an earlier seed."""
    if os.environ.get("BENCH_REUSE") != "1":
        return prepare()
    from bench import pages, pages_cpu

    pages.setup_django()
    return pages_cpu.world()


def main() -> None:
    w = seeded()
    keys = keys_for(w)

    floor_headers = headers_for(keys["me"], w["big"])
    big, small = headers_for(keys["me"], w["big"]), headers_for(keys["me"], w["small"])
    deep = cursor_deep_in(f"{API}/jobs", big, BIG // 100 - 1)
    # (label, small path, small headers, large path, large headers)
    subjects = [
        ("GET /projects (10 / 501 projects)", f"{API}/projects", headers_for(keys["few"]),
         f"{API}/projects", headers_for(keys["many"])),
        ("GET /jobs (10 / 10,000 jobs)", f"{API}/jobs", small, f"{API}/jobs", big),
        ("GET /jobs, last page by cursor (10,000 jobs)", f"{API}/jobs", small,
         f"{API}/jobs?cursor={deep}", big),
        ("GET /jobs?offset=9900 (10,000 jobs)", f"{API}/jobs", small, f"{API}/jobs?offset=9900", big),
        ("GET /datasets (10 / 10,000 datasets)", f"{API}/datasets", small, f"{API}/datasets", big),
        ("GET /projects/{id}/members (10 / 1,000 members)", f"{API}/projects/{w['small'].pk}/members",
         headers_for(keys["me"]), f"{API}/projects/{w['big'].pk}/members", headers_for(keys["me"])),
    ]
    q_floor, cpu_floor = in_process(f"{API}/me", floor_headers)
    print(f"floor GET /me: queries {q_floor}; CPU {cpu_floor:.2f} ms in-process")
    measured = []
    for label, small_path, small_headers, big_path, big_headers in subjects:
        q_small, _ = in_process(small_path, small_headers)
        q_big, cpu = in_process(big_path, big_headers)
        measured.append((label, q_small, q_big, cpu, big_path, big_headers))
        print(f"{label}: queries {q_small} / {q_big}; CPU {cpu:.2f} ms = {cpu / cpu_floor:.2f}× /me")

    rows = []  # (label, q small, q big, cpu ms, cpu floor, median ms, floor median ms)
    cli = []
    proc = start_gunicorn()
    try:
        for label, q_small, q_big, cpu, path, headers in measured:
            pairs = []
            for _ in range(PAIRS):
                floor = wrk_median_ms(f"{API}/me", "", headers=floor_headers)
                pairs.append((wrk_median_ms(path, "", headers=headers), floor))
            median, floor = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
            rows.append((label, q_small, q_big, cpu, cpu_floor, median, floor))
            print(f"{label}: median {median:.2f} ms = {median / floor:.2f}× /me ({floor:.2f} ms)")
    finally:
        stop(proc)
    # The CLI against a gunicorn that logs each request's client port (not during the runs above).
    # gthread workers, as README's production command: sync workers close each connection.
    proc = start_gunicorn("-k", "gthread", "--threads", "8", "--access-logfile", str(ACCESS_LOG),
                          "--access-logformat", "%({REMOTE_PORT}e)s %(r)s")
    try:
        for name, project in (("10 jobs", w["small"]), ("10,000 jobs", w["big"])):
            result = {}

            def run(p=project, r=result):
                r["ms"], r["lines"] = cli_job_list(keys["me"], p)

            asked, opened = requests_and_connections(run)
            cli.append((name, result["ms"], result["lines"], asked / 3, opened / 3))
            print(f"trainshed job list ({name}): {result['ms']:.0f} ms, {result['lines']} jobs, "
                  f"{asked / 3:.0f} requests on {opened / 3:.0f} connections a run")
    finally:
        stop(proc)
    write_results(rows, cli, q_floor)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def write_results(rows: list[tuple], cli: list[tuple], q_floor: int) -> None:
    from bench.results import write_section

    lines = [
        f"Run {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}), PostgreSQL, gunicorn -w 2, "
        f"wrk -t2 -c4 -d{DURATION} on loopback, DEBUG off. Produced by `make bench` (bench/api.py).",
        "",
        f"Floor: `GET /api/v1/me` with the same API key ({q_floor} queries), run right before each "
        f"run of a list; each list ran {PAIRS} times, the row is the run with the median ratio. CPU: "
        f"one request in-process (Django's test client), median of {CPU_REQUESTS}. Lists answer their "
        "first page (100 items) unless the path says otherwise.",
        "",
        "| list (large case under load) | queries small | queries large | CPU ms (× /me) | median ms "
        "| /me ms | × /me |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, q_small, q_big, cpu, cpu_floor, median, floor in rows:
        lines.append(f"| {label} | {q_small} | {q_big} | {cpu:.2f} ({cpu / cpu_floor:.2f}) | {median:.2f} "
                     f"| {floor:.2f} | {median / floor:.2f} |")
    if cli:
        lines += ["", "| `trainshed job list` | wall ms (median of 3) | jobs printed | requests a run "
                      "| connections a run |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for name, ms, printed, asked, opened in cli:
            lines.append(f"| {name} | {ms:.0f} | {printed} | {asked:.0f} | {opened:.0f} |")
        lines.append(f"\nThe CLI at 10,000 jobs took {cli[1][1] / cli[0][1]:.1f}× its time at 10 "
                     "(against gunicorn -k gthread, as README's production command).")
    write_section("api", lines)


if __name__ == "__main__":
    main()
