#!/usr/bin/env python
"""Page benchmarks: PostgreSQL, gunicorn (2 workers) on loopback, wrk as the load generator.

Prints, for each page, the median latency and its ratio to a bare authenticated view (session +
user + tiny template) measured right before it (three such pairs of short runs per page, the
median ratio kept), and the page's query count at 10 and at 10,000 rows. Writes bench/RESULTS.md.
Run with `make bench` (needs PostgreSQL on 127.0.0.1:5432 and wrk).

Not a test: figures vary with the machine. Goal: same query count at both sizes; each page ≤ 5×
the bare view.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from settings_env import server_env  # bench/settings_env.py: this script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "trainshed_bench")
PORT = int(os.environ.get("BENCH_PORT", "8199"))
DURATION = os.environ.get("BENCH_DURATION", "3s")
PAIRS = int(os.environ.get("BENCH_PAIRS", "3"))  # (bare, page) runs per page; the median ratio counts
BIG = 10_000
VAR = Path(tempfile.mkdtemp(prefix="trainshed-bench-"))

ENV = {**os.environ, **server_env(DB, VAR)}


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def fresh_database() -> None:
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f"CREATE DATABASE {DB}")


def setup_django():
    os.environ.update(ENV)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production static files


# ---- data ---------------------------------------------------------------------------------------


def seed() -> dict:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_create
    from projects import services
    from projects.models import Membership, Project
    from resources.models import Dataset

    me = user_create(email="bench@example.com", password="bench-pass", verified=True)
    other = user_create(email="other@example.com", password="bench-pass", verified=True)
    small = services.project_create(owner=me, name="Small")
    big = services.project_create(owner=me, name="Big")
    now = timezone.now()

    def datasets(project, n):
        Dataset.objects.bulk_create(
            [Dataset(project=project, name=f"dataset-{i:05d}", status="ready", size_bytes=1000 + i,
                     file_count=1, created_by=me, created_at=now) for i in range(n)],
            batch_size=2000,
        )

    datasets(small, 10)
    datasets(big, BIG)

    from compute.models import GpuType
    from resources.models import Job, JobRun

    cpu = GpuType.objects.get(slug="cpu")

    def jobs(project, n):
        # Finished training jobs as the runner leaves them: started, ended, one run each, its
        # GPU time kept on the job.
        started, ended = now - dt.timedelta(hours=2), now - dt.timedelta(hours=1)
        made = Job.objects.bulk_create(
            [Job(project=project, name=f"job-{i:05d}", type="training", gpu_type=cpu, gpu_count=1,
                 command="python train.py", created_by=me, status="finished", started_at=started,
                 ended_at=ended, last_heartbeat=ended, ended_gpu_seconds=3600.0) for i in range(n)],
            batch_size=2000,
        )
        JobRun.objects.bulk_create(
            [JobRun(job=job, started_at=started, ended_at=ended, last_heartbeat=ended, gpu_type=cpu,
                    gpu_count=1) for job in made],
            batch_size=2000,
        )

    jobs(small, 10)
    jobs(big, BIG)

    # Project pages: 10 and 1,000 members (plain rows: the page reads Membership).
    people = User.objects.bulk_create(
        [User(email=f"m{i:04d}@example.com", password=make_password(None)) for i in range(1000)],
        batch_size=1000,
    )
    Membership.objects.bulk_create([Membership(project=small, user=u) for u in people[:10]])
    Membership.objects.bulk_create([Membership(project=big, user=u) for u in people], batch_size=1000)

    # Dashboards: a person in 10 projects and one in 500.
    few = user_create(email="few@example.com", password="bench-pass", verified=True)
    many = user_create(email="many@example.com", password="bench-pass", verified=True)
    for i in range(10):
        p = services.project_create(owner=other, name=f"Shared {i:03d}")
        services.membership_set(project=p, user=few, jobs="all", datasets="read", models="read", actor=None)
    for i in range(500):
        p = services.project_create(owner=other, name=f"Team {i:03d}")
        services.membership_set(project=p, user=many, jobs="all", datasets="read", models="read", actor=None)
    return {"me": me, "few": few, "many": many, "small": small, "big": big,
            "personal": Project.objects.personal_of(me)}


def session_for(user, project=None) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from projects.middleware import SESSION_KEY as PROJECT_KEY

    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if project is not None and not project.is_personal:
        s[PROJECT_KEY] = str(project.pk)
    s.create()
    return s.session_key


# ---- measuring ----------------------------------------------------------------------------------


def query_count(session_key: str, path: str, htmx: bool = False) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.cookies["sessionid"] = session_key
    # Counted as every view after the first is.
    client.get(path, headers={"HX-Request": "true"} if htmx else {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


def start_gunicorn(*extra: str) -> subprocess.Popen:
    """gunicorn on PORT, with `extra` arguments (bench/api.py adds an access log)."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [gunicorn, "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{PORT}", "--log-level", "warning", *extra],
        cwd=ROOT, env=ENV,
    )
    for _ in range(100):
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=1)
            return proc
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


# A browser's CSRF cookie (a secret of 32 letters), sent with every request as a browser sends it
# after its first page: pages then mask it instead of making a new one for a Set-Cookie each time.
CSRF = "b" * 32


def wrk_median_ms(path: str, session_key: str, post: str | None = None, htmx: bool = False,
                  headers: dict[str, str] | None = None) -> float:
    """Median latency of GETs of `path` (or POSTs of the form body `post`) with a browser's cookies
    for `session_key`, or with `headers` instead (an API key: bench/api.py)."""
    args = ["wrk", "-t2", "-c4", f"-d{DURATION}", "--latency"]
    if headers is not None:
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
    elif post is None:
        args += ["-H", f"Cookie: sessionid={session_key}; csrftoken={CSRF}"]
        if htmx:
            args += ["-H", "HX-Request: true"]
    else:
        csrf = CSRF  # the cookie and the header agree: Django's CSRF check passes
        script = VAR / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f'wrk.body = "{post}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            'wrk.headers["HX-Request"] = "true"\n'
            f'wrk.headers["X-CSRFToken"] = "{csrf}"\n'
            f'wrk.headers["Cookie"] = "sessionid={session_key}; csrftoken={csrf}"\n'
        )
        args += ["-s", str(script)]
    out = sh(*args, f"http://127.0.0.1:{PORT}{path}").stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"{path} answered errors under load:\n{out}")
    match = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def prepare() -> dict:
    """A fresh, seeded and analysed database (bench/api.py measures the API on the same data)."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    fresh_database()
    setup_django()
    t0 = time.monotonic()
    w = seed()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after a bulk load: real plans, not guesses
    print(f"seeded in {time.monotonic() - t0:.1f}s")
    return w


def main() -> None:
    w = prepare()

    # (label, path, small session, large session)
    pages = [
        ("jobs list (10 / 10,000 jobs)", "/jobs/",
         session_for(w["me"], w["small"]), session_for(w["me"], w["big"])),
        ("datasets list (10 / 10,000 datasets)", "/datasets/",
         session_for(w["me"], w["small"]), session_for(w["me"], w["big"])),
        ("projects dashboard (10 / 500 projects)", "/projects/",
         session_for(w["few"]), session_for(w["many"])),
        ("project page (10 / 1,000 members)", None,
         session_for(w["me"]), session_for(w["me"])),
    ]
    bare_session = session_for(w["me"])
    rows = []  # (label, queries small, queries large, median ms, bare median ms measured just before)
    proc = start_gunicorn()

    def measure(label, q_small, q_big, path, session, **kw):
        # The machine's speed drifts over minutes (a shared VM): each page is measured in PAIRS
        # short runs, each right after its own bare run; its figures are the pair with the median
        # ratio.
        pairs = []
        for _ in range(PAIRS):
            bare = wrk_median_ms("/account/whoami/", bare_session)
            pairs.append((wrk_median_ms(path, session, **kw), bare))
        median, bare = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
        rows.append((label, q_small, q_big, median, bare))
        print(f"{label}: queries {q_small} / {q_big}; median {median:.2f} ms = {median / bare:.2f}× "
              f"bare ({bare:.2f} ms)")
        return median, bare

    try:
        # What every page with the header pays before its content: the session, the user, the
        # active project (with the switcher's flag) and the layout, here around a small form.
        floor = session_for(w["me"], w["big"])
        q_floor = query_count(floor, "/projects/new/")
        measure("page floor: header with the active project, a small form (new project)", q_floor, q_floor,
                "/projects/new/", floor)
        for label, path, small_s, big_s in pages:
            if path is None:
                small_path, big_path = f"/projects/{w['small'].pk}/", f"/projects/{w['big'].pk}/"
            else:
                small_path = big_path = path
            q_small, q_big = query_count(small_s, small_path), query_count(big_s, big_path)
            measure(label, q_small, q_big, big_path, big_s)
        # The project page's keys, audit and two-factor sections load when scrolled into view (htmx GETs).
        for label, suffix in (("project page's keys section (loaded when scrolled to)", "keys/"),
                              ("project page's audit log (loaded when scrolled to)", "audit/"),
                              ("project page's two-factor panel (loaded when scrolled to)",
                               "two-factor/?members_page=1")):
            small_path, big_path = (f"/projects/{w[p].pk}/{suffix}" for p in ("small", "big"))
            owner = session_for(w["me"])
            q_small = query_count(owner, small_path, htmx=True)
            q_big = query_count(owner, big_path, htmx=True)
            measure(label, q_small, q_big, big_path, owner, htmx=True)
        # Switching is three requests: open the switcher (its choices load: for a person in 500
        # projects), POST the choice (htmx), load the jobs list. Each is a row; the flow is their sum.
        q_few = query_count(session_for(w["few"]), "/projects/switcher/")
        q_many = query_count(session_for(w["many"]), "/projects/switcher/")
        choices = measure("switcher choices (10 / 500 projects)", q_few, q_many, "/projects/switcher/",
                          session_for(w["many"]))
        switch = measure("switch POST (htmx)", "", "", "/projects/switch/", session_for(w["me"], w["big"]),
                         post=f"project={w['big'].pk}&next=/jobs/")
        jobs_list = next(r for r in rows if r[0].startswith("jobs list"))[3:5]
        parts = (choices, switch, jobs_list)
        rows.append(("switching flow: switcher + POST + jobs list of 10,000 (3 requests; to 3 bare)", "", "",
                     sum(m for m, _ in parts), sum(b for _, b in parts)))
        print(f"switching flow: {rows[-1][3]:.2f} ms = {rows[-1][3] / rows[-1][4]:.2f}× three bare requests")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)  # a loaded machine may take a while to end the workers
        except subprocess.TimeoutExpired:
            proc.kill()
    write_results(rows)


def write_results(rows: list[tuple]) -> None:
    from bench.results import write_section

    bares = sorted(bare for *_, bare in rows[:-1])
    lines = [
        f"Run {dt.date.today().isoformat()} on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}), PostgreSQL, gunicorn -w 2, "
        f"wrk -t2 -c4 -d{DURATION} on loopback, DEBUG off. Produced by `make bench` (bench/pages.py).",
        "",
        "Bare authenticated view (`/account/whoami/`: session + user + tiny template), measured right "
        f"before each run of a page: **{bares[len(bares) // 2]:.2f} ms** median "
        f"({bares[0]:.2f}–{bares[-1]:.2f}). "
        f"Each page ran {PAIRS} times, each time after its own bare run; the row is the run with the median "
        "ratio. Requests carry a session cookie and a CSRF cookie, as a browser's do after its first page.",
        "",
        "| page (large case under load) | queries small | queries large | median ms | bare ms | × bare |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, q_small, q_big, median, bare in rows:
        lines.append(f"| {label} | {q_small} | {q_big} | {median:.2f} | {bare:.2f} | {median / bare:.2f} |")
    write_section("pages", lines)


if __name__ == "__main__":
    main()
