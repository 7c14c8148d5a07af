from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"Missing migrations:\n{out.getvalue()}")
        raise exc
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_existing_jobs_get_the_gpu_time_of_their_ended_runs():
    """resources 0004 adds `Job.ended_gpu_seconds` and fills it from the runs recorded before."""
    from datetime import UTC, datetime, timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        before, after = [("resources", "0003_jobs")], [("resources", "0004_job_ended_gpu_seconds")]
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        user = apps.get_model("accounts", "User").objects.create(email="old@example.com")
        project = apps.get_model("projects", "Project").objects.create(name="Old", owner=user)
        cpu = apps.get_model("compute", "GpuType").objects.get(slug="cpu")
        Job, JobRun = apps.get_model("resources", "Job"), apps.get_model("resources", "JobRun")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        ran = Job.objects.create(project=project, name="ran twice", gpu_type=cpu, gpu_count=2, status="stopped")
        JobRun.objects.create(job=ran, started_at=start, ended_at=start + timedelta(hours=1), gpu_type=cpu,
                              gpu_count=2)
        JobRun.objects.create(job=ran, started_at=start + timedelta(hours=2),
                              ended_at=start + timedelta(hours=2, minutes=30), gpu_type=cpu, gpu_count=2)
        never = Job.objects.create(project=project, name="never ran", gpu_type=cpu, gpu_count=1)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        apps = executor.loader.project_state(after).apps
        Job = apps.get_model("resources", "Job")
        assert Job.objects.get(pk=ran.pk).ended_gpu_seconds == 2 * 1.5 * 3600
        assert Job.objects.get(pk=never.pk).ended_gpu_seconds == 0
    finally:  # back to the latest state even on failure: later tests share this database
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

