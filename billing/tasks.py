"""Accrual as a periodic task in the worker: each run charges what is due, then schedules the next."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from billing.accrual import accrue

TASK_PATH = "billing.tasks.accrue_periodically"


@task(queue_name="accrual")  # settings.TRAINSHED_ACCRUAL_QUEUE: never behind a download
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

    _requeue_from_default(DBTaskResult)
    pending = DBTaskResult.objects.filter(task_path=TASK_PATH, status__in=["READY", "RUNNING"]).exists()
    if pending:
        return False
    schedule_next(delay_seconds=0)
    return True


# Tasks an older version queued on the one "default" queue, and the queue each now has.
_QUEUE_OF = {TASK_PATH: "accrual", "resources.tasks.fetch_resource": "downloads"}


def _requeue_from_default(results) -> None:
    """Move waiting tasks left on "default" to their own queue, where a worker listens."""
    for path, queue in _QUEUE_OF.items():
        results.objects.filter(task_path=path, queue_name="default", status="READY").update(queue_name=queue)
