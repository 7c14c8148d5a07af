#!/usr/bin/env python
"""Accrual benchmark on PostgreSQL: one pass over 100,000 running jobs and 10,000 stored datasets,
printing its time beside the floor (the database's own INSERT … SELECT of the same rows into a
copy of the ledger table, with its indexes and foreign keys, in the same run) and the ratio, the
number of queries and the pass's peak memory; then a second pass that must add 0 entries; then a
steady pass a minute later, after every job's heartbeat, as the pass runs each minute (one new
slice a job), beside the floor of its own rows.

Run with `make bench` (needs PostgreSQL on 127.0.0.1:5432). Prints figures; not a test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "trainshed_bench_accrual")
JOBS, DATASETS = 100_000, 10_000
OWNERS = 100

os.environ.update({
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "DEBUG": "0",
    "SECRET_KEY": "bench-" + "k" * 60,
    "ALLOWED_HOSTS": "127.0.0.1",
    "TRAINSHED_FERNET_KEYS": "ZmFrZS1iZW5jaC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
    "TRAINSHED_VAR_DIR": tempfile.mkdtemp(prefix="trainshed-bench-"),
    "DJANGO_SETTINGS_MODULE": "config.settings",
})


def main() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql], check=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.services import user_create
    from billing import services as billing_services
    from billing.accrual import accrue
    from billing.models import BillingAccount, LedgerEntry
    from compute.models import GpuType
    from projects.services import project_create
    from resources.models import Dataset, Job, JobRun, JobStatus

    call_command("migrate", verbosity=0)
    t0 = time.monotonic()
    now = timezone.now()
    a100 = GpuType.objects.get(slug="a100")
    projects = []
    for i in range(OWNERS):
        owner = user_create(email=f"owner{i:03d}@example.com", password=None)
        billing_services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount=1_000_000)
        projects.append(project_create(owner=owner, name=f"Project {i:03d}"))
    started = now - timedelta(minutes=5, seconds=30)
    jobs = Job.objects.bulk_create(
        [Job(project=projects[i % OWNERS], name=f"job-{i:05d}", type="training", gpu_type=a100,
             gpu_count=1 + i % 4, command="python train.py", created_by=projects[i % OWNERS].owner,
             status=JobStatus.RUNNING, started_at=started, last_heartbeat=now) for i in range(JOBS)],
        batch_size=2000,
    )
    JobRun.objects.bulk_create(
        [JobRun(job=j, started_at=started, last_heartbeat=now, started_by=j.created_by,
                gpu_type=a100, gpu_count=j.gpu_count) for j in jobs],
        batch_size=2000,
    )
    Dataset.objects.bulk_create(
        [Dataset(project=projects[i % OWNERS], name=f"ds-{i:05d}", status="ready",
                 size_bytes=(i % 50 + 1) * 10**9, file_count=1,
                 created_at=now - timedelta(hours=3, minutes=10))
         for i in range(DATASETS)],
        batch_size=2000,
    )
    # auto_now_add ignores a given created_at: date the datasets back 3 h 10 min afterwards.
    Dataset.objects.update(created_at=now - timedelta(hours=3, minutes=10))
    print(f"seeded {JOBS:,} running jobs and {DATASETS:,} datasets for {OWNERS} owners "
          f"in {time.monotonic() - t0:.1f}s")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    report = [f"seeded {JOBS:,} running jobs (5½ minutes each) and {DATASETS:,} datasets (3 hours old) "
              f"for {OWNERS} owners"]
    import resource

    floor = None
    later = now + timedelta(minutes=1)
    for label, at in (("first pass", now), ("second pass", now), ("steady pass, a minute later", later)):
        if at is later:
            # The agents' heartbeats of that minute; the steady floor is the steady pass's rows only.
            Job.objects.update(last_heartbeat=later)
            JobRun.objects.update(last_heartbeat=later)
            last_id = LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        before = LedgerEntry.objects.count()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with CaptureQueriesContext(connection) as queries:
            t = time.monotonic()
            result = accrue(now=at)
            elapsed = time.monotonic() - t
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        added = LedgerEntry.objects.count() - before
        if floor is None:
            floor = _floor(connection, LedgerEntry._meta.db_table)
            bare = _floor(connection, LedgerEntry._meta.db_table, foreign_keys=False)
            report.append(f"floor without the foreign keys' checks: {bare:.2f}s")
            floor_of = "the first pass's rows"
        if at is later:
            floor = _floor(connection, LedgerEntry._meta.db_table, after_id=last_id)
            floor_of = "this pass's rows"
        line = (f"{label}: {elapsed:.2f}s, floor {floor:.2f}s (INSERT … SELECT of {floor_of}), "
                f"ratio {elapsed / floor:.2f}×, {len(queries.captured_queries)} queries, "
                f"peak memory +{grown:.0f} MiB, {added:,} new entries "
                f"(compute {result['compute'].created:,}, storage {result['storage'].created:,}, "
                f"jobs stopped {result['jobs_stopped']})")
        print(line)
        report.append(line)
        if label == "second pass" and added != 0:
            raise SystemExit("the second pass charged something twice")
    from bench.results import write_section

    write_section("accrual", [f"- {line}" for line in report])


def _floor(connection, ledger: str, *, foreign_keys: bool = True, after_id: int = 0) -> float:
    """The database's own INSERT … SELECT of the ledger's rows after `after_id` (the passes'),
    into an empty copy of the ledger table with the same indexes and constraints, and its foreign
    keys (checked at the commit, as the pass's are) unless told otherwise."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_floor (LIKE {ledger} INCLUDING ALL)")
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f'", [ledger])
        for (definition,) in cursor.fetchall() if foreign_keys else ():
            cursor.execute(f"ALTER TABLE bench_floor ADD {definition}")
        t = time.monotonic()
        cursor.execute(f"INSERT INTO bench_floor SELECT * FROM {ledger} WHERE id > %s", [after_id])
        elapsed = time.monotonic() - t
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


if __name__ == "__main__":
    main()
