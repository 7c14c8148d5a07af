"""Metering: turn usage into ledger slices, idempotently.

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
from django.db.models import Max
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import account_for, slice_amount

HOURS_PER_MONTH = Decimal("730")
BYTES_PER_GB = Decimal(10**9)
STORAGE_LOOKBACK = timedelta(days=7)
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
    from resources.models import Dataset, MLModel, StoredStatus

    for model_cls in (Dataset, MLModel):
        yield from (
            model_cls.objects.filter(status=StoredStatus.READY, size_bytes__gt=0)
            .select_related("project__owner")
            .only("id", "name", "size_bytes", "created_at", "created_by_id", "project__id",
                  "project__name", "project__owner__id")
            .iterator(chunk_size=BATCH)
        )


def accrue_storage(*, now: datetime | None = None) -> PassResult:
    """Charge every complete hour of every stored dataset and model not charged yet."""
    now = now or timezone.now()
    until = _hour_floor(now)
    since = until - STORAGE_LOOKBACK
    rate = storage_rate_per_gb_hour()
    charged_until = dict(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.STORAGE, period_end__gt=since)
        .values("resource")
        .annotate(last=Max("period_end"))
        .values_list("resource", "last")
    )
    accounts: dict[int, object] = {}
    result = PassResult()
    pending: list[LedgerEntry] = []
    for resource in _stored_resources():
        result.considered += 1
        ref = f"{resource.kind[:-1]}:{resource.pk}"
        # Whole clock hours only: the first one starts after the hour the resource appeared in.
        first_start = _hour_floor(resource.created_at) + timedelta(hours=1)
        start = max(charged_until.get(ref) or first_start, first_start, since)
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
            pending.append(LedgerEntry(
                account=accounts[owner_id], project=project, project_name=project.name,
                kind=LedgerEntry.Kind.STORAGE, resource=ref, resource_name=resource.name[:200],
                quantity=gb.quantize(Decimal("0.000001")), unit="gb_hour",
                unit_price=rate.quantize(Decimal("0.000001")), amount=-amount,
                period_start=hour, period_end=hour + timedelta(hours=1),
                created_by_id=resource.created_by_id,
                idempotency_key=f"storage:{ref}:{hour.isoformat()}",
            ))
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


def accrue(*, now: datetime | None = None) -> dict[str, PassResult]:
    """One accrual pass over everything metered."""
    now = now or timezone.now()
    return {"storage": accrue_storage(now=now)}
