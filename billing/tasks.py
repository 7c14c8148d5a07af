"""Accrual as a periodic task in the worker: each run charges what is due, then schedules the next."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from billing.accrual import accrue

TASK_PATH = "billing.tasks.accrue_periodically"


@task(queue_name="default")
def accrue_periodically() -> dict:
    results = accrue()
    schedule_next()
    return {"compute": results["compute"].created, "storage": results["storage"].created,
            "jobs_stopped": results["jobs_stopped"]}


def schedule_next(*, delay_seconds: int | None = None) -> None:
    delay = settings.TRAINSHED_ACCRUAL_INTERVAL_SECONDS if delay_seconds is None else delay_seconds
    accrue_periodically.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue()


def ensure_scheduled() -> bool:
    """Start the periodic chain unless one is already queued or running. True if it started one."""
    from django_tasks_db.models import DBTaskResult

    pending = DBTaskResult.objects.filter(task_path=TASK_PATH, status__in=["READY", "RUNNING"]).exists()
    if pending:
        return False
    schedule_next(delay_seconds=0)
    return True
