from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, CharField, Count, DecimalField, F, Max, Min, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from billing.models import BillingAccount, LedgerEntry
from billing.services import account_for, month_start

CHARGES = [LedgerEntry.Kind.COMPUTE, LedgerEntry.Kind.STORAGE]
# What a charge cost before rounding to the cent ("< 0.01" rather than "0.00" when it rounds to none).
EXACT_COST = F("quantity") * F("unit_price")


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
    """Charges in [start, end): by project (with its owner when not the account's) and kind, and
    inside each project by member. Two queries, whatever the number of rows."""
    by_kind = (
        _charges(account, start, end)
        .values("project_id", "project_name", "kind", owner_id=F("project__owner_id"),
                owner_email=F("project__owner__email"))
        .annotate(total=Sum("amount"))
        .order_by("project_name", "kind")
    )
    by_member = (
        _charges(account, start, end)
        .values("project_id", "created_by__email")
        .annotate(total=Sum("amount"), used=Sum(EXACT_COST))
        .order_by("created_by__email")
    )
    projects: dict = {}
    for row in by_kind:
        entry = projects.setdefault(
            row["project_id"],
            {
                "id": row["project_id"],
                "name": row["project_name"],
                # Charges sent here from someone else's projects (a shared billing account): their
                # owner beside the name, as projects of different owners may share one.
                "owner": row["owner_email"] if row["owner_id"] not in (None, account.owner_id) else "",
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
                {"email": row["created_by__email"] or "system", "total": -row["total"],
                 "used": row["used"] or Decimal("0")}
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
        .select_related("created_by", "project__owner")  # others' projects show their owner
        .order_by("-created_at", "-id")
    )


def job_charged(*, project_id, job_id) -> Decimal:
    """The credits a job has been charged so far (its compute entries, as a positive number)."""
    total = LedgerEntry.objects.filter(project_id=project_id, resource=f"job:{job_id}",
                                       kind=LedgerEntry.Kind.COMPUTE).aggregate(
        total=Coalesce(Sum("amount"), Decimal("0")))["total"]
    return -total


# ---- the ledger, grouped per resource and day ---------------------------------------------------
# A running job adds a row a minute: the ledger page shows one row per job (or dataset, model) and
# UTC day, which opens onto its rows. Credits and adjustments (no resource) stay one row each.

def _grouped(entries):
    return entries.annotate(
        day=TruncDate(Coalesce("period_end", "created_at")),
        # A resource's charges group together; an entry without one is its own group.
        group=Case(
            When(resource="", then=Concat(Value("entry:"), Cast("id", CharField()))),
            default=F("resource"), output_field=CharField(),
        ),
    )


def ledger_groups(*, account: BillingAccount):
    """One row per (kind, resource, day), newest first: totals, the exact (unrounded) cost, how
    many entries. One query whatever the ledger's size; page it with core.paging.page_of."""
    return (
        _grouped(LedgerEntry.objects.filter(account=account))
        .values("kind", "group", "day", "project_id")
        .annotate(
            amount=Sum("amount"),
            used=Sum(EXACT_COST, output_field=DecimalField(max_digits=30, decimal_places=12)),
            quantity=Sum("quantity"),
            entries=Count("id"),
            unit=Max("unit"),
            project_name=Max("project_name"),
            resource_name=Max("resource_name"),
            project_owner_id=Max("project__owner_id"),
            project_owner=Max("project__owner__email"),  # shown beside others' projects' names
            note=Max("note"),
            by=Max("created_by__email"),
            first=Min("created_at"),
            last=Max("created_at"),
            last_id=Max("id"),
        )
        .order_by("-last", "-last_id")
    )


def ledger_group_entries(*, account: BillingAccount, kind: str, group: str, day: date):
    """The entries of one group of `ledger_groups` (the minute rows of a job's day), newest first."""
    entries = ledger(account=account).filter(kind=kind)
    if group.startswith("entry:"):
        entry_id = group.removeprefix("entry:")
        entries = entries.filter(resource="", pk=int(entry_id) if entry_id.isdigit() else 0)
    else:
        entries = entries.filter(resource=group)
    return _grouped(entries).filter(day=day).annotate(exact=EXACT_COST)


@dataclass(frozen=True)
class BalanceStatus:
    balance: Decimal
    threshold: Decimal | None

    @property
    def low(self) -> bool:
        """No credits, or under the warning threshold the owner set."""
        return self.balance <= 0 or (self.threshold is not None and self.balance < self.threshold)


def balance_status(*, user) -> BalanceStatus:
    """The balance of the account `user`'s charges go to, and the threshold that warns them."""
    own = BillingAccount.objects.only("low_balance_threshold").get(owner=user)
    account = account_for(user)
    return BalanceStatus(balance=account.entries.balance(), threshold=own.low_balance_threshold)
