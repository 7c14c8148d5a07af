"""What billing tells account owners: credits running low, and jobs stopped for no credits or a
reached spending cap. Each is told once per episode: the key carries the last top-up (so a new
credit starts a new episode) or the month and cap."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Max, Q, Sum
from django.urls import reverse

from accounts.models import NoticeKind
from accounts.notify import notify
from billing.models import BillingAccount, LedgerEntry

TOP_UPS = [LedgerEntry.Kind.CREDIT, LedgerEntry.Kind.ADJUSTMENT]


def _last_top_up(account: BillingAccount) -> int:
    return (LedgerEntry.objects.filter(account=account, kind__in=TOP_UPS, amount__gt=0)
            .aggregate(last=Max("pk"))["last"] or 0)


def low_balances_warn() -> int:
    """Tell each owner whose balance is under the threshold they set (one query for all of
    them). Returns how many were told now."""
    low = (
        BillingAccount.objects.filter(low_balance_threshold__isnull=False)
        .annotate(
            balance=Sum("entries__amount", default=Decimal("0")),
            last_top_up=Max("entries__pk", filter=Q(entries__kind__in=TOP_UPS, entries__amount__gt=0)),
        )
        .select_related("owner")
    )
    told = 0
    for account in low:
        if account.balance >= account.low_balance_threshold:
            continue
        notice = notify(
            user=account.owner, kind=NoticeKind.LOW_CREDITS,
            key=f"low_credits:{account.pk}:{account.last_top_up or 0}",
            subject=f"Your balance is {account.balance:.2f} credits, below your warning of "
                    f"{account.low_balance_threshold:.2f}",
            text="Add credits before it runs out: with none left, jobs in your projects can't start "
                 "and running ones stop.",
            url=reverse("billing:overview"),
        )
        told += notice is not None
    return told


def no_credits_stop(*, owner, account: BillingAccount) -> None:
    notify(
        user=owner, kind=NoticeKind.SPENDING_STOPPED, key=f"no_credits:{account.pk}:{_last_top_up(account)}",
        subject="Your account has no credits: jobs in your projects were stopped",
        text="New jobs can't start until credits are added; stopped jobs can be started again then.",
        url=reverse("billing:overview"),
    )


def cap_reached_stop(*, project, cap: Decimal, month: str) -> None:
    notify(
        user=project.owner, kind=NoticeKind.SPENDING_STOPPED, key=f"cap:{project.pk}:{month}:{cap}",
        subject=f"{project.name} reached its monthly spending cap of {cap:.2f} credits",
        text="Its running jobs were stopped and new ones can't start this month, unless you raise "
             "or remove the cap.",
        url=reverse("billing:overview"),
    )
