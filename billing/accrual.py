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
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from billing.models import BillingAccount, LedgerEntry, ProjectBudget
from billing.notices import cap_reached_stop, low_balances_warn, no_credits_stop
from billing.services import account_for, balance, month_start, project_month_spend, slice_amount
from compute.models import GpuType
from projects.models import Project
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
    if connection.vendor == "postgresql":
        return _accrue_storage_sql(now=now)
    return _accrue_storage_orm(now=now)


def _accrue_storage_orm(*, now: datetime) -> PassResult:
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
    results["low_balances_told"] = low_balances_warn()
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
    if connection.vendor == "postgresql":
        return _accrue_compute_sql(now=now)
    return _accrue_compute_orm(now=now)


def _accrue_compute_orm(*, now: datetime) -> PassResult:
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
    active = Job.objects.filter(status__in=JOB_ACTIVE, stop_requested_at__isnull=True)
    # Decide per owner and per capped project (a few hundred rows), then load only the jobs to
    # stop: a pass's memory does not grow with the number of running jobs.
    reasons: dict = {}  # owner id or project id -> why its jobs stop
    balances: dict[int, Decimal] = {}
    owners = active.values_list("project__owner", flat=True).distinct()
    for owner in get_user_model().objects.filter(pk__in=owners):
        account = account_for(owner)
        if account.pk not in balances:
            balances[account.pk] = balance(account)
        if balances[account.pk] <= 0:
            reasons[("owner", owner.pk)] = OUT_OF_CREDITS
            no_credits_stop(owner=owner, account=account)
    caps = ProjectBudget.objects.filter(
        project__in=active.values("project_id"), monthly_cap__isnull=False
    ).select_related("project__owner")
    for budget in caps:
        if project_month_spend(project=budget.project, now=now) >= budget.monthly_cap:
            reasons[("project", budget.project_id)] = "monthly spending cap reached"
            cap_reached_stop(project=budget.project, cap=budget.monthly_cap,
                             month=month_start(now or timezone.now()).strftime("%Y-%m"))
    if not reasons:
        return 0
    broke = [key[1] for key in reasons if key[0] == "owner"]
    capped = [key[1] for key in reasons if key[0] == "project"]
    to_stop = active.filter(models.Q(project__owner__in=broke) | models.Q(project__in=capped))
    for job in to_stop.select_related("project").iterator(chunk_size=BATCH):
        reason = reasons.get(("owner", job.project.owner_id)) or reasons[("project", job.project_id)]
        job_stop(job=job, actor=None, reason=reason)
        stopped += 1
    return stopped


# ---- PostgreSQL: the slices generated and inserted by the database ------------------------------
# The same rules as the Python passes above, written once more as one INSERT … SELECT per kind:
# the slices come from generate_series, duplicates are skipped by ON CONFLICT on the idempotency
# key, and the count of new rows comes back from RETURNING. Nothing is loaded into Python, so a
# pass's time is the database's and its memory does not grow with the number of jobs. Amounts are
# computed from the exact quantity × price and rounded half-up to the cent at each slice's end and
# start (round() on numeric rounds half away from zero, which is half-up for the positive costs).

def _tables() -> dict[str, str]:
    return {
        "ledger": LedgerEntry._meta.db_table,
        "account": BillingAccount._meta.db_table,
        "allowed": BillingAccount.allowed_users.through._meta.db_table,
        "project": Project._meta.db_table,
        "job": Job._meta.db_table,
        "run": JobRun._meta.db_table,
        "gpu": GpuType._meta.db_table,
        "dataset": Dataset._meta.db_table,
        "model": MLModel._meta.db_table,
    }


# The account each owner's charges go to: billing.services.account_for, for all owners at once.
_ACCOUNTS_SQL = """
    SELECT own.owner_id,
           CASE WHEN own.charge_to_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM {allowed} au
                    WHERE au.billingaccount_id = own.charge_to_id AND au.user_id = own.owner_id)
                THEN own.charge_to_id ELSE own.id END AS account_id
    FROM {account} own
"""

# Each resource's last charged slice: one probe of the (resource, period_end) index, not a scan of
# the window's ledger rows, so a pass costs the same however much history the ledger holds. The
# statement's first output counts `spans`, which holds the probes: all of them run before the
# insert starts, so none reads the rows this statement is adding (on a tiny, new ledger the planner
# may probe by a sequential scan, and interleaved with the insert that grows quadratic).
_CHARGED_SQL = """
LEFT JOIN LATERAL (
    SELECT l.period_end AS done FROM {ledger} l
    WHERE l.resource = {resource} AND l.kind = '{kind}' AND l.period_end IS NOT NULL
    ORDER BY l.period_end DESC LIMIT 1
) c ON TRUE
"""

_COMPUTE_SQL = """
WITH accounts AS ({accounts}),
runs AS (
    SELECT r.id, r.started_at, r.ended_at, r.started_by_id, r.gpu_count, g.credits_per_gpu_hour AS rate,
           j.id AS job_id, j.name AS job_name, p.id AS project_id, p.name AS project_name,
           a.account_id,
           CASE WHEN r.ended_at IS NULL THEN LEAST(COALESCE(r.last_heartbeat, r.started_at), %(now)s)
                WHEN r.ended_at - COALESCE(r.last_heartbeat, r.started_at) > interval '2 minutes'
                    THEN COALESCE(r.last_heartbeat, r.started_at)
                ELSE LEAST(r.ended_at, %(now)s) END AS until
    FROM {run} r
    JOIN {job} j ON j.id = r.job_id
    JOIN {project} p ON p.id = j.project_id
    JOIN {gpu} g ON g.id = r.gpu_type_id
    JOIN accounts a ON a.owner_id = p.owner_id
    WHERE r.started_at < %(now)s
      AND (%(since)s::timestamptz IS NULL OR r.ended_at IS NULL OR r.ended_at > %(since)s)
),
spans AS MATERIALIZED (
    SELECT runs.*, EXTRACT(EPOCH FROM until - started_at) AS seconds,
           CASE WHEN c.done > runs.started_at
                THEN ROUND(EXTRACT(EPOCH FROM c.done - runs.started_at) / 60)::bigint ELSE 0 END AS first
    FROM runs {charged_compute}
),
bounds AS (
    SELECT spans.*, FLOOR(seconds / 60)::bigint
               + CASE WHEN ended_at IS NOT NULL AND MOD(seconds, 60) <> 0 THEN 1 ELSE 0 END AS last
    FROM spans
),
slices AS (
    SELECT b.*, i, (i * 60)::numeric AS before,
           LEAST(i * 60::numeric, seconds - 60) + 60 AS after
    FROM bounds b, generate_series(b.first, b.last - 1) AS i
),
inserted AS (
    INSERT INTO {ledger} (account_id, project_id, project_name, kind, resource, resource_name, quantity,
                          unit, unit_price, amount, period_start, period_end, created_by_id, note,
                          idempotency_key, created_at)
    SELECT account_id, project_id, project_name, 'compute', 'job:' || job_id::text, LEFT(job_name, 200),
           ROUND(gpu_count * (after - before) / 3600, 6), 'gpu_hour', rate,
           ROUND(gpu_count * rate * before / 3600, 2) - ROUND(gpu_count * rate * after / 3600, 2),
           started_at + i * interval '1 minute', LEAST(started_at + (i + 1) * interval '1 minute', until),
           started_by_id, '', 'compute:' || id::text || ':' || i::text, %(created_at)s
    FROM slices
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM spans), (SELECT COUNT(*) FROM inserted)
"""

_STORAGE_SQL = """
WITH accounts AS ({accounts}),
stored AS (
    SELECT 'dataset:' || id::text AS ref, id, name, size_bytes, created_at, created_by_id, project_id
    FROM {dataset} WHERE status = 'ready' AND size_bytes > 0
    UNION ALL
    SELECT 'model:' || id::text, id, name, size_bytes, created_at, created_by_id, project_id
    FROM {model} WHERE status = 'ready' AND size_bytes > 0
),
spans AS MATERIALIZED (
    SELECT s.*, p.name AS project_name, a.account_id,
           (DATE_TRUNC('hour', s.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + interval '1 hour'
               AS first_start,
           s.size_bytes * 0.000000001 AS gb, c.done
    FROM stored s
    JOIN {project} p ON p.id = s.project_id
    JOIN accounts a ON a.owner_id = p.owner_id
    {charged_storage}
),
slices AS (
    SELECT spans.*, hour,
           (EXTRACT(EPOCH FROM hour - first_start) / 3600)::bigint AS index
    FROM spans, generate_series(
        GREATEST(COALESCE(done, first_start), first_start, COALESCE(%(since)s, first_start)),
        %(until)s::timestamptz - interval '1 hour', interval '1 hour') AS hour
),
inserted AS (
    INSERT INTO {ledger} (account_id, project_id, project_name, kind, resource, resource_name, quantity,
                          unit, unit_price, amount, period_start, period_end, created_by_id, note,
                          idempotency_key, created_at)
    SELECT account_id, project_id, project_name, 'storage', ref, LEFT(name, 200), ROUND(gb, 6),
           'gb_hour', %(unit_price)s,
           ROUND(gb * %(rate)s * index, 2) - ROUND(gb * %(rate)s * (index + 1), 2),
           hour, hour + interval '1 hour', created_by_id, '',
           'storage:' || ref || ':'
               || TO_CHAR(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00',
           %(created_at)s
    FROM slices
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM spans), (SELECT COUNT(*) FROM inserted)
"""


def _run_sql(template: str, params: dict) -> PassResult:
    tables = _tables()
    sql = template.format(
        accounts=_ACCOUNTS_SQL.format(**tables),
        charged_compute=_CHARGED_SQL.format(resource="'job:' || runs.job_id::text", kind="compute", **tables),
        charged_storage=_CHARGED_SQL.format(resource="s.ref", kind="storage", **tables),
        **tables,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        considered, created = cursor.fetchone()
    return PassResult(created=created, considered=considered)


def _accrue_compute_sql(*, now: datetime) -> PassResult:
    since = _window_start(kind=LedgerEntry.Kind.COMPUTE, now=now)
    return _run_sql(_COMPUTE_SQL, {"now": now, "since": since, "created_at": timezone.now()})


def _accrue_storage_sql(*, now: datetime) -> PassResult:
    until = _hour_floor(now)
    since = _window_start(kind=LedgerEntry.Kind.STORAGE, now=until)
    rate = storage_rate_per_gb_hour()
    return _run_sql(
        _STORAGE_SQL,
        {"until": until, "since": since, "rate": rate, "unit_price": rate.quantize(Decimal("0.000001")),
         "created_at": timezone.now()},
    )
