"""Accrual on PostgreSQL generates its slices in SQL: the same ledger entries, to the cent and key
for key, as the Python pass that SQLite uses (the reference), with redirected billing accounts,
reaped and partial runs, several runs of one job, datasets and models, and a second pass."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import accrual
from billing.models import BillingAccount, LedgerEntry
from compute.models import GpuType
from resources.models import Dataset, Job, JobRun, JobStatus, MLModel
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL pass runs on PostgreSQL only"),
]

FIELDS = ("idempotency_key", "account_id", "project_id", "project_name", "kind", "resource",
          "resource_name", "quantity", "unit", "unit_price", "amount", "period_start", "period_end",
          "created_by_id")


class _Undo(Exception):
    pass


def _entries():
    return sorted(LedgerEntry.objects.filter(kind__in=["compute", "storage"]).values_list(*FIELDS))


def _by_orm(now):
    """What the Python pass would write, rolled back."""
    with pytest.raises(_Undo), transaction.atomic():
        compute = accrual._accrue_compute_orm(now=now)
        storage = accrual._accrue_storage_orm(now=now)
        rows = _entries()
        raise _Undo
    return rows, compute, storage


def _run(project, person, *, start, end=None, heartbeat=None, gpus=1, gpu="a100", job=None):
    gpu_type = GpuType.objects.get(slug=gpu)
    job = job or Job.objects.create(
        project=project, name="train " * 30, type="training", gpu_type=gpu_type, gpu_count=gpus,
        command="python train.py", created_by=person,
        status=JobStatus.FINISHED if end else JobStatus.RUNNING, started_at=start,
    )
    JobRun.objects.create(job=job, started_at=start, ended_at=end, last_heartbeat=heartbeat or end,
                          started_by=person, gpu_type=gpu_type, gpu_count=gpus)
    return job


@pytest.fixture
def usage(project, owner, member_all):
    now = timezone.now()
    _run(project, member_all, start=now - timedelta(minutes=10, seconds=17.123456),
         end=now - timedelta(seconds=3), gpus=3)
    _run(project, owner, start=now - timedelta(minutes=7, seconds=5), heartbeat=now - timedelta(seconds=2))
    reaped = _run(project, owner, start=now - timedelta(hours=2), end=now - timedelta(minutes=30),
                  heartbeat=now - timedelta(hours=1, minutes=40), gpus=2, gpu="h100")
    _run(project, owner, start=now - timedelta(minutes=20), end=now - timedelta(minutes=1, seconds=1),
         job=reaped, gpus=2, gpu="h100")
    # Another owner whose charges go to a company account that allows them.
    other = UserFactory()
    company = BillingAccount.objects.get(owner=UserFactory())
    company.allowed_users.add(other)
    BillingAccount.objects.filter(owner=other).update(charge_to=company)
    from projects.services import project_create

    theirs = project_create(owner=other, name="Theirs")
    _run(theirs, other, start=now - timedelta(minutes=3, seconds=30), heartbeat=now, gpus=4)
    for cls, size, hours in ((Dataset, 1_234_567_891, 5), (MLModel, 987_654_321_000, 30), (Dataset, 7, 2)):
        item = cls.objects.create(project=project if size != 7 else theirs, name="weights " * 25,
                                  status="ready", size_bytes=size, created_by=owner)
        cls.objects.filter(pk=item.pk).update(created_at=now - timedelta(hours=hours, minutes=13))
    return now


def test_the_sql_pass_writes_what_the_python_pass_writes(usage):
    expected, compute, storage = _by_orm(usage)
    assert len(expected) > 40
    result = accrual.accrue(now=usage)
    assert _entries() == expected
    assert (result["compute"].created, result["storage"].created) == (compute.created, storage.created)
    assert (result["compute"].considered, result["storage"].considered) == (
        compute.considered, storage.considered)


def test_a_later_sql_pass_adds_only_new_slices_like_the_python_pass(usage):
    accrual.accrue(now=usage)
    later = usage + timedelta(hours=3, minutes=4)
    JobRun.objects.filter(ended_at__isnull=True).update(last_heartbeat=later)
    expected, compute, _ = _by_orm(later)
    result = accrual.accrue(now=later)
    assert _entries() == expected
    assert result["compute"].created == compute.created > 0
    assert accrual.accrue(now=later)["compute"].created == 0
    assert accrual.accrue(now=later)["storage"].created == 0
    assert LedgerEntry.objects.filter(kind="compute", amount__gt=Decimal("0")).count() == 0
