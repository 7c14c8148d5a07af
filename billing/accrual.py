"""Metering: turn usage into ledger slices, idempotently.

Compute: every job run is charged per minute of run time (GPU count × the GPU type's credits per
GPU-hour), from its start up to its last heartbeat while it runs, and a final partial slice when
it ends. A slice's key is `compute:<run id>:<minute index>`.

Storage: every ready dataset and model is charged per whole hour of existence, GB-hours × the
storage rate (settings.TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH per 730 hours). A slice's key is
`storage:<kind>:<id>:<hour start>`, so running a pass twice, or on two workers at once, inserts
each slice once (INSERT … ON CONFLICT DO NOTHING through `bulk_create(ignore_conflicts=True)`).
Amounts follow the module rule in billing.services (cumulative rounding to the cent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Max
from django.utils import timezone

from billing.models import LedgerEntry, ProjectBudget
from billing.services import account_for, balance, project_month_spend, slice_amount
from resources.jobs.services import OUT_OF_CREDITS, job_stop
from resources.models import JOB_ACTIVE, Dataset, Job, JobRun, MLModel, StoredStatus

HOURS_PER_MONTH = Decimal("730")
BYTES_PER_GB = Decimal(10**9)
LOOKBACK = timedelta(days=7)
BATCH = 2000


@dataclass
class PassResult:
    created: int = 0
    considered: int = 0


def storage_rate_per_gb_hour() -> Decimal:
    return Decimal(settings.TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH) / HOURS_PER_MONTH


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _stored_resources():
    for model_cls in (Dataset, MLModel):
        yield from (
            model_cls.objects.filter(status=StoredStatus.READY, size_bytes__gt=0)
            .select_related("project__owner")
            .only(
                "id",
                "name",
                "size_bytes",
                "created_at",
                "created_by_id",
                "project__id",
                "project__name",
                "project__owner__id",
            )
            .iterator(chunk_size=BATCH)
        )


def _window_start(*, kind: str, now: datetime) -> datetime | None:
    """How far back a pass looks: a week before the last slice of this kind (before `now` if that
    is earlier). While accrual runs that is the last week; after it stopped for a while, the
    window reaches back over the gap, so nothing used in between goes uncharged. None (from the
    beginning) before the first slice of this kind. Slices already charged are skipped by their
    keys whatever the window."""
    last = LedgerEntry.objects.filter(kind=kind).aggregate(last=Max("period_end"))["last"]
    if last is None:
        return None
    return min(now - LOOKBACK, last - LOOKBACK)


def _charged_until(*, kind: str, since: datetime | None) -> dict[str, datetime]:
    """The cursor of each metered resource: the end of its last charged slice (one query)."""
    entries = LedgerEntry.objects.filter(kind=kind)
    if since is not None:
        entries = entries.filter(period_end__gt=since)
    return dict(entries.values("resource").annotate(last=Max("period_end")).values_list("resource", "last"))


def accrue_storage(*, now: datetime | None = None) -> PassResult:
    """Charge every complete hour of every stored dataset and model not charged yet."""
    now = now or timezone.now()
    until = _hour_floor(now)
    since = _window_start(kind=LedgerEntry.Kind.STORAGE, now=until)
    rate = storage_rate_per_gb_hour()
    charged_until = _charged_until(kind=LedgerEntry.Kind.STORAGE, since=since)
    accounts: dict[int, object] = {}
    result = PassResult()
    pending: list[LedgerEntry] = []
    for resource in _stored_resources():
        result.considered += 1
        ref = f"{resource.kind[:-1]}:{resource.pk}"
        # Whole clock hours only: the first one starts after the hour the resource appeared in.
        first_start = _hour_floor(resource.created_at) + timedelta(hours=1)
        start = max(charged_until.get(ref) or first_start, first_start, since or first_start)
        if start + timedelta(hours=1) > until:
            continue
        project = resource.project
        owner_id = project.owner.pk
        if owner_id not in accounts:
            accounts[owner_id] = account_for(project.owner)
        gb = Decimal(resource.size_bytes) / BYTES_PER_GB
        hour = start
        while hour + timedelta(hours=1) <= until:
            index = int((hour - first_start).total_seconds() // 3600)
            amount = slice_amount(exact_before=gb * rate * index, exact_after=gb * rate * (index + 1))
            pending.append(
                LedgerEntry(
                    account=accounts[owner_id],
                    project=project,
                    project_name=project.name,
                    kind=LedgerEntry.Kind.STORAGE,
                    resource=ref,
                    resource_name=resource.name[:200],
                    quantity=gb.quantize(Decimal("0.000001")),
                    unit="gb_hour",
                    unit_price=rate.quantize(Decimal("0.000001")),
                    amount=-amount,
                    period_start=hour,
                    period_end=hour + timedelta(hours=1),
                    created_by_id=resource.created_by_id,
                    idempotency_key=f"storage:{ref}:{hour.isoformat()}",
                )
            )
            hour += timedelta(hours=1)
        if len(pending) >= BATCH:
            result.created += _insert(pending)
            pending = []
    result.created += _insert(pending)
    return result


def _insert(entries: list[LedgerEntry]) -> int:
    """Insert, skipping slices already charged. Returns how many were new."""
    if not entries:
        return 0
    keys = [e.idempotency_key for e in entries]
    before = LedgerEntry.objects.filter(idempotency_key__in=keys).count()
    LedgerEntry.objects.bulk_create(entries, ignore_conflicts=True, batch_size=BATCH)
    after = LedgerEntry.objects.filter(idempotency_key__in=keys).count()
    return after - before


def accrue(*, now: datetime | None = None) -> dict:
    """One accrual pass over everything metered, then the limits: jobs of accounts that ran out
    of credits, or of projects over their monthly cap, are stopped."""
    now = now or timezone.now()
    results = {"compute": accrue_compute(now=now), "storage": accrue_storage(now=now)}
    results["jobs_stopped"] = enforce_limits(now=now)
    return results


# ---- compute ----------------------------------------------------------------------------------

SLICE = timedelta(minutes=1)
REAPED_GAP = timedelta(minutes=2)  # an end this long after the last heartbeat: the worker died


def _metered_until(run, now: datetime) -> datetime:
    """How far a run is metered: up to its last heartbeat while it runs (so a dead worker stops
    costing at once), and to its end once it ended — unless it was reaped long after its last
    heartbeat, when that heartbeat is the honest end."""
    heartbeat = run.last_heartbeat or run.started_at
    if run.ended_at is None:
        return min(heartbeat, now)
    if run.ended_at - heartbeat > REAPED_GAP:
        return heartbeat
    return min(run.ended_at, now)


def accrue_compute(*, now: datetime | None = None) -> PassResult:
    """Charge GPU time per minute of every job run (and the final partial minute of an ended one):
    GPU count × the GPU type's credits per GPU-hour, to the owner's account at accrual time."""
    now = now or timezone.now()
    since = _window_start(kind=LedgerEntry.Kind.COMPUTE, now=now)
    runs = JobRun.objects.filter(started_at__lt=now).select_related("job__project__owner", "gpu_type")
    if since is not None:
        runs = runs.filter(models.Q(ended_at__isnull=True) | models.Q(ended_at__gt=since))
    charged_until = _charged_until(kind=LedgerEntry.Kind.COMPUTE, since=since)
    accounts: dict[int, object] = {}
    result = PassResult()
    pending: list[LedgerEntry] = []
    for run in runs.iterator(chunk_size=BATCH):
        result.considered += 1
        job, project = run.job, run.job.project
        ref = f"job:{job.pk}"
        until = _metered_until(run, now)
        done = charged_until.get(ref)
        first = 0
        if done is not None and done > run.started_at:
            first = int(round((done - run.started_at) / SLICE))
        full = int((until - run.started_at) // SLICE)
        last = full + (1 if run.ended_at is not None and (until - run.started_at) % SLICE else 0)
        if first >= last:
            continue
        owner_id = project.owner.pk
        if owner_id not in accounts:
            accounts[owner_id] = account_for(project.owner)
        rate = run.gpu_type.credits_per_gpu_hour
        per_second = Decimal(run.gpu_count) * rate / Decimal(3600)
        for i in range(first, last):
            start = run.started_at + i * SLICE
            end = min(start + SLICE, until)
            before = Decimal(i * 60)
            after = Decimal(str((end - run.started_at).total_seconds()))
            pending.append(
                LedgerEntry(
                    account=accounts[owner_id],
                    project=project,
                    project_name=project.name,
                    kind=LedgerEntry.Kind.COMPUTE,
                    resource=ref,
                    resource_name=job.name[:200],
                    quantity=(Decimal(run.gpu_count) * (after - before) / Decimal(3600)).quantize(
                        Decimal("0.000001")
                    ),
                    unit="gpu_hour",
                    unit_price=rate,
                    amount=-slice_amount(exact_before=per_second * before, exact_after=per_second * after),
                    period_start=start,
                    period_end=end,
                    created_by_id=run.started_by_id,
                    idempotency_key=f"compute:{run.pk}:{i}",
                )
            )
        if len(pending) >= BATCH:
            result.created += _insert(pending)
            pending = []
    result.created += _insert(pending)
    return result


def enforce_limits(*, now: datetime | None = None) -> int:
    """Stop running jobs whose owner's account has no credits left, or whose project reached its
    monthly cap. Returns how many were stopped. They can be started again after a top-up."""
    stopped = 0
    active = list(
        Job.objects.filter(status__in=JOB_ACTIVE, stop_requested_at__isnull=True).select_related(
            "project__owner"
        )
    )
    balances: dict[int, Decimal] = {}
    caps = dict(
        ProjectBudget.objects.filter(
            project__in={j.project_id for j in active}, monthly_cap__isnull=False
        ).values_list("project_id", "monthly_cap")
    )
    capped: dict = {}
    accounts: dict[int, object] = {}
    for job in active:
        owner = job.project.owner
        if owner.pk not in accounts:
            accounts[owner.pk] = account_for(owner)
        account = accounts[owner.pk]
        if account.pk not in balances:
            balances[account.pk] = balance(account)
        reason = None
        if balances[account.pk] <= 0:
            reason = OUT_OF_CREDITS
        elif job.project_id in caps:
            if job.project_id not in capped:
                capped[job.project_id] = (
                    project_month_spend(project=job.project, now=now) >= caps[job.project_id]
                )
            if capped[job.project_id]:
                reason = "monthly spending cap reached"
        if reason:
            job_stop(job=job, actor=None, reason=reason)
            stopped += 1
    return stopped
