from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce, TruncDate

from billing.models import BillingAccount, LedgerEntry
from billing.services import month_start

CHARGES = [LedgerEntry.Kind.COMPUTE, LedgerEntry.Kind.STORAGE]


def _charges(account: BillingAccount, start: datetime, end: datetime):
    return LedgerEntry.objects.filter(
        account=account, kind__in=CHARGES, period_end__gt=start, period_end__lte=end
    )


def month_bounds(now: datetime, months_back: int = 0) -> tuple[datetime, datetime]:
    start = month_start(now)
    for _ in range(months_back):
        start = month_start(start - timedelta(days=1))
    end = month_start(start + timedelta(days=32))
    return start, end


def statement(*, account: BillingAccount, start: datetime, end: datetime) -> dict:
    """Charges in [start, end): by project and kind, and inside each project by member. Two
    queries, whatever the number of rows."""
    by_kind = (
        _charges(account, start, end)
        .values("project_id", "project_name", "kind")
        .annotate(total=Sum("amount"))
        .order_by("project_name", "kind")
    )
    by_member = (
        _charges(account, start, end)
        .values("project_id", "created_by__email")
        .annotate(total=Sum("amount"))
        .order_by("created_by__email")
    )
    projects: dict = {}
    for row in by_kind:
        entry = projects.setdefault(
            row["project_id"],
            {
                "id": row["project_id"],
                "name": row["project_name"],
                "compute": Decimal("0"),
                "storage": Decimal("0"),
                "total": Decimal("0"),
                "members": [],
            },
        )
        entry[row["kind"]] = -row["total"]
        entry["total"] += -row["total"]
    for row in by_member:
        if row["project_id"] in projects:
            projects[row["project_id"]]["members"].append(
                {"email": row["created_by__email"] or "system", "total": -row["total"]}
            )
    rows = sorted(projects.values(), key=lambda p: p["name"].lower())
    return {"projects": rows, "total": sum((p["total"] for p in rows), Decimal("0"))}


def daily_spend(*, account: BillingAccount, now: datetime, days: int = 30) -> list[dict]:
    """Spend per UTC day over the last `days` days, zero-filled, oldest first (one query)."""
    first_day = (now - timedelta(days=days - 1)).date()
    totals = dict(
        LedgerEntry.objects.filter(account=account, kind__in=CHARGES, period_end__date__gte=first_day)
        .annotate(day=TruncDate(Coalesce("period_end", "created_at")))
        .values("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    return [
        {"day": first_day + timedelta(days=i), "total": -(totals.get(first_day + timedelta(days=i)) or 0)}
        for i in range(days)
    ]


def ledger(*, account: BillingAccount):
    return (
        LedgerEntry.objects.filter(account=account)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def job_charged(*, project_id, job_id) -> Decimal:
    """The credits a job has been charged so far (its compute entries, as a positive number)."""
    total = LedgerEntry.objects.filter(project_id=project_id, resource=f"job:{job_id}",
                                       kind=LedgerEntry.Kind.COMPUTE).aggregate(
        total=Coalesce(Sum("amount"), Decimal("0")))["total"]
    return -total
