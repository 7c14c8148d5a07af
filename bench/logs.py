#!/usr/bin/env python
"""Log polling benchmark on PostgreSQL: what a follower's poll costs against `GET /api/v1/me` (an
authenticated API request that reads nothing else), in the same run, in-process (Django's test
client; no HTTP server, so the ratio is the view's own work). A 5 MiB log stored as the agent
stores it (chunks of ~64 KiB, with a project secret to redact): a poll at its end (nothing new),
a poll for the last 4 KiB, and the first page (1 MiB). Prints figures; not a test."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "trainshed_bench_logs")
N = int(os.environ.get("BENCH_LOG_POLLS", "200"))
os.environ.update({
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "DEBUG": "0",
    "SECRET_KEY": "bench-" + "k" * 60,
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "TRAINSHED_RATE_LIMITS": "0",
    "TRAINSHED_FERNET_KEYS": "ZmFrZS1iZW5jaC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
    "TRAINSHED_VAR_DIR": tempfile.mkdtemp(prefix="trainshed-bench-"),
    "DJANGO_SETTINGS_MODULE": "config.settings",
})


def median_ms(client, url: str, headers: dict) -> float:
    times = []
    for _ in range(N):
        t = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, response.content[:300]
    return statistics.median(times) * 1000


def main() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.api_keys import api_key_create
    from accounts.services import user_create
    from compute.models import GpuType
    from projects.keys import secret_set
    from projects.services import project_create
    from resources.jobs import selectors, services
    from resources.models import Job

    call_command("migrate", verbosity=0)
    owner = user_create(email="bench-logs@example.com", password=None)
    project = project_create(owner=owner, name="Bench logs")
    secret_set(project=project, name="MY_BENCH_SECRET", value="hf-bench-secret-123456", actor=None)
    job = Job.objects.create(project=project, name="long log", type="training", command="train",
                             gpu_type=GpuType.objects.get(slug="cpu"), created_by=owner, status="finished")
    line = "step {:07d} loss 0.1234 hf-bench-secret-123456 " + "x" * 40 + "\n"
    redact, seq, text, size = selectors.job_redactor(job=job), 0, [], 0
    while size < 5 * 1024**2 * 1.25:  # 5 MiB once the secret is redacted
        text.append(line.format(size))
        size += len(text[-1])
        if sum(map(len, text)) >= 64 * 1024:
            seq += 1
            services.run_log_append(job=Job.objects.get(pk=job.pk), seq=seq, text="".join(text),
                                    redact=redact)
            text = []
    job.refresh_from_db()
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='bench')[1]}",
               "X-Trainshed-Project": str(project.pk)}
    client = Client()
    logs = f"/api/v1/jobs/{job.pk}/logs"
    rows = [("`GET /api/v1/me` (floor)", "/api/v1/me")]
    rows += [
        (f"poll at the end of a {job.log_bytes / 1024**2:.1f} MiB finished log ({seq} chunks)",
         f"{logs}?offset={job.log_bytes}"),
        ("poll for the last 4 KiB of it", f"{logs}?offset={job.log_bytes - 4096}"),
        ("its first page (1 MiB)", f"{logs}?offset=0"),
    ]
    for _, url in rows:  # warm
        client.get(url, headers=headers)
    figures = []
    floor = None
    for label, url in rows:
        ms = median_ms(client, url, headers)
        floor = floor or ms
        figures.append(f"| {label} | {ms:.2f} ms | {ms / floor:.2f}× |")
    lines = [f"In-process (Django test client) on PostgreSQL, medians of {N} requests, one run; "
             "ratio against `GET /api/v1/me` in the same run. Produced by bench/logs.py.", "",
             "| request | median | ratio |", "| --- | ---: | ---: |", *figures]
    print("\n".join(lines))
    from bench.results import write_section

    write_section("logs", lines)


if __name__ == "__main__":
    main()
