#!/usr/bin/env python
"""CPU time per request, in process: Django's test client on bench/pages.py's seeded database.

For each page: the median `time.process_time()` of REPEAT requests, each right after a request
of the bare authenticated view (`/account/whoami/`), and the ratio of their medians. Steadier
than wrk on a shared machine (other processes' load does not count), so it guides the work;
bench/pages.py gives the figures under load. DEBUG is off, as in production.

    BENCH_DB=ts_speed_bench .venv/bin/python bench/pages_cpu.py            # seeds (a few minutes)
    BENCH_REUSE=1 BENCH_DB=ts_speed_bench .venv/bin/python bench/pages_cpu.py   # reuses the seed
    BENCH_PROFILE=/jobs/ ...  # also prints a cProfile of that page's requests (top 40 by cumtime)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import pages  # noqa: E402  (the seed, sessions and settings of the wrk benchmark)

REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))


def _cpu(client, path: str, headers: dict) -> float:
    t0 = time.process_time()
    response = client.get(path, headers=headers)
    spent = time.process_time() - t0
    assert response.status_code == 200, (path, response.status_code)
    return spent


def cpu_ms(bare_client, client, path: str, htmx: bool) -> tuple[float, float]:
    """(bare view, page) median CPU ms, their requests interleaved so both see the machine alike."""
    headers = {"HX-Request": "true"} if htmx else {}
    client.get(path, headers=headers)  # a first view warms what every later one finds
    bare, page = [], []
    for _ in range(REPEAT):
        bare.append(_cpu(bare_client, "/account/whoami/", {}))
        page.append(_cpu(client, path, headers))
    return statistics.median(bare) * 1000, statistics.median(page) * 1000


def client_for(session_key: str):
    from django.test import Client

    client = Client()
    client.cookies["sessionid"] = session_key
    client.cookies["csrftoken"] = pages.CSRF  # as a browser sends it after its first page
    return client


def world() -> dict:
    """bench/pages.py's seed, read back from a database seeded earlier."""
    from accounts.models import User
    from projects.models import Project

    me = User.objects.get(email="bench@example.com")
    return {"me": me, "few": User.objects.get(email="few@example.com"),
            "many": User.objects.get(email="many@example.com"),
            "small": Project.objects.get(owner=me, name="Small"),
            "big": Project.objects.get(owner=me, name="Big")}


def main() -> None:
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        pages.fresh_database()
    pages.setup_django()
    from django.db import connection

    if reuse:
        w = world()
    else:
        pages.seed()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        w = world()
    s = pages.session_for
    big = w["big"]
    # (label, path, session, htmx)
    rows = [
        ("page floor (new project form)", "/projects/new/", s(w["me"], big), False),
        ("jobs list (10,000)", "/jobs/", s(w["me"], big), False),
        ("datasets list (10,000)", "/datasets/", s(w["me"], big), False),
        ("dashboard (500 projects)", "/projects/", s(w["many"]), False),
        ("project page (1,000 members)", f"/projects/{big.pk}/", s(w["me"]), False),
        ("keys section", f"/projects/{big.pk}/keys/", s(w["me"]), True),
        ("audit log", f"/projects/{big.pk}/audit/", s(w["me"]), True),
        ("two-factor panel", f"/projects/{big.pk}/two-factor/?members_page=1", s(w["me"]), True),
        ("switcher choices (500)", "/projects/switcher/", s(w["many"]), False),
    ]
    only = os.environ.get("BENCH_ONLY")
    bare_client = client_for(s(w["me"]))
    print(f"{'page':34} {'bare ms':>8} {'page ms':>8} {'× bare':>7} {'queries':>8}")
    for label, path, session, htmx in rows:
        if only and only not in label:
            continue
        client = client_for(session)
        bare, page = cpu_ms(bare_client, client, path, htmx)
        queries = pages.query_count(session, path, htmx=htmx)
        print(f"{label:34} {bare:8.2f} {page:8.2f} {page / bare:7.2f} {queries:8}")
        if os.environ.get("BENCH_PROFILE") == path:
            profile(client, path, htmx)


def profile(client, path: str, htmx: bool) -> None:
    import cProfile
    import pstats

    headers = {"HX-Request": "true"} if htmx else {}
    with cProfile.Profile(time.process_time) as prof:  # CPU time, as the figures: not the database's
        for _ in range(REPEAT):
            client.get(path, headers=headers)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(os.environ.get("BENCH_PROFILE_MATCH", ""), 40)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
