"""Money. Every charge of a project goes to the billing account of the project's owner at the
time of use, whoever caused it.

Rounding, stated once: amounts are Decimal credits, stored in whole cents. A metered resource's
cost is computed exactly (quantity × unit price) over its life so far, and each slice's ledger
entry is the difference between that cumulative cost rounded to the cent (half-up) at the slice's
end and at its start. So every entry is whole cents, and a resource's entries always add up to its
exact cost rounded to the cent: no drift from many small slices, and never a cent twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.utils import timezone

from accounts.models import User, normalize_email
from billing.models import BillingAccount, LedgerEntry, ProjectBudget
from projects import access
from projects.services import audit_record

CENT = Decimal("0.01")
NO_CREDITS_MESSAGE = "The project owner's account has no credits left: ask the project owner to add credits."
# The same refusal said to the person who meets it: the owner pays, a member asks the owner.
NO_CREDITS_OWNER = "Your account has no credits: add credits to start jobs or store data again."
NO_CREDITS_MEMBER = "The owner ({owner}) has no credits: ask them to add credits."
CAP_REACHED_MESSAGE = "This project has reached its monthly spending cap set by the project owner."


def to_cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def slice_amount(*, exact_before: Decimal, exact_after: Decimal) -> Decimal:
    """The (positive) cents to charge for a slice, by cumulative rounding (see module doc)."""
    return to_cents(exact_after) - to_cents(exact_before)


def billing_account_create(*, owner) -> BillingAccount:
    account = BillingAccount(owner=owner)
    account.full_clean()
    account.save()
    return account


def _own_account(owner_id):
    """The owner's own account, with `target_allows`: whether the account it points its charges at
    (`charge_to`) still allows the owner."""
    return BillingAccount.objects.filter(owner_id=owner_id).annotate(
        target_allows=Exists(BillingAccount.allowed_users.through.objects.filter(
            billingaccount_id=OuterRef("charge_to"), user_id=owner_id)))


def account_for(owner) -> BillingAccount:
    """The account an owner's charges go to: their own, or the one they point at (if it still
    allows them)."""
    own = _own_account(owner.pk).select_related("charge_to").get()
    return own.charge_to if own.charge_to is not None and own.target_allows else own


def account_for_project(project) -> BillingAccount:
    return account_for(project.owner)


def balance(account: BillingAccount) -> Decimal:
    return LedgerEntry.objects.filter(account=account).balance()


def month_start(moment: datetime) -> datetime:
    """The start of `moment`'s calendar month in UTC: months, caps and statements use UTC."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def project_month_spend(*, project, now: datetime | None = None) -> Decimal:
    """Credits the project's charges came to since the start of this calendar month (UTC)."""
    now = now or timezone.now()
    total = LedgerEntry.objects.filter(
        project=project,
        kind__in=[LedgerEntry.Kind.COMPUTE, LedgerEntry.Kind.STORAGE],
        period_end__gt=month_start(now),
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return -total


def no_credits_message(*, project, actor=None) -> str:
    """The no-credits refusal said to `actor`: the owner hears it is their account, a member who
    the owner is; the system (a queued job stopped) the neutral form."""
    if actor is None or not getattr(actor, "pk", None):
        return NO_CREDITS_MESSAGE
    if actor.pk == project.owner_id:
        return NO_CREDITS_OWNER
    return NO_CREDITS_MEMBER.format(owner=project.owner.get_full_name())


def spend_refusal(*, project, actor=None) -> str | None:
    """Why new spending in `project` is refused right now, or None. Said so a member can read it:
    no balance figures."""
    # One read for account_for + balance + the cap: the owner's account with the balances of both
    # accounts its charges may go to (chosen as account_for chooses) and the project's cap.
    state = (_own_account(project.owner_id)
             .annotate(own_balance=_balance_of(OuterRef("pk")),
                       target_balance=_balance_of(OuterRef("charge_to")),
                       cap=Subquery(ProjectBudget.objects.filter(project=project).values("monthly_cap")[:1]))
             .values("charge_to", "own_balance", "target_balance", "target_allows", "cap").get())
    charged = "target_balance" if state["charge_to"] is not None and state["target_allows"] else "own_balance"
    if (state[charged] or Decimal("0")) <= 0:
        return no_credits_message(project=project, actor=actor)
    cap = state["cap"]
    if cap is not None and project_month_spend(project=project) >= cap:
        return CAP_REACHED_MESSAGE
    return None


def _balance_of(account):
    """The balance of `account` (an OuterRef) as a subquery: LedgerEntryQuerySet.balance in SQL."""
    return Subquery(LedgerEntry.objects.filter(account=account).order_by().values("account")
                    .annotate(total=Sum("amount")).values("total")[:1])


def ensure_can_spend(*, project, actor=None) -> None:
    """Starting a job or creating a dataset/model calls this first."""
    refusal = spend_refusal(project=project, actor=actor)
    if refusal:
        raise ValidationError(refusal, code="no_credits")


def charge_record(
    *,
    project,
    kind: str,
    resource: str,
    resource_name: str,
    quantity: Decimal,
    unit: str,
    unit_price: Decimal,
    amount: Decimal,
    period_start: datetime,
    period_end: datetime,
    created_by,
    key: str,
) -> LedgerEntry | None:
    """Append one charge to the project owner's billing account, once per `key`.

    Returns the new entry, or None if an entry with that key already exists (a second run, or
    another worker got there first: the unique key decides, on any database)."""
    account = account_for_project(project)
    entry = LedgerEntry(
        account=account,
        project=project,
        project_name=project.name,
        kind=kind,
        resource=resource,
        resource_name=resource_name[:200],
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        amount=-abs(to_cents(amount)),
        period_start=period_start,
        period_end=period_end,
        created_by=created_by,
        idempotency_key=key,
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        if LedgerEntry.objects.filter(idempotency_key=key).exists():
            return None
        raise
    return entry


@transaction.atomic
def credits_grant(
    *, account: BillingAccount, amount, note: str = "", actor=None, key: str | None = None
) -> LedgerEntry:
    try:
        amount = to_cents(Decimal(str(amount)))
    except Exception as exc:
        raise ValidationError({"amount": "Enter an amount of credits, e.g. 100 or 12.50."}) from exc
    if amount <= 0:
        raise ValidationError({"amount": "A grant must be more than 0 credits."})
    entry = LedgerEntry(
        account=account,
        kind=LedgerEntry.Kind.CREDIT,
        quantity=amount,
        unit="credit",
        unit_price=Decimal("1"),
        amount=amount,
        note=note[:200],
        created_by=actor,
        idempotency_key=key or f"credit:{uuid.uuid4()}",
    )
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def adjustment_record(*, account: BillingAccount, amount, note: str, actor=None) -> LedgerEntry:
    if not note.strip():
        raise ValidationError({"note": "Say why the adjustment is made."})
    entry = LedgerEntry(
        account=account,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=to_cents(Decimal(str(amount))),
        note=note[:200],
        created_by=actor,
        idempotency_key=f"adjustment:{uuid.uuid4()}",
    )
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def budget_set(*, project, monthly_cap: Decimal | None, actor) -> ProjectBudget:
    if actor is not None:
        access.require(actor, project, "project", "administer")
    if monthly_cap is not None and monthly_cap <= 0:
        raise ValidationError({"monthly_cap": "A cap must be more than 0, or empty for no cap."})
    budget, _ = ProjectBudget.objects.get_or_create(project=project)
    before = budget.monthly_cap
    budget.monthly_cap = to_cents(monthly_cap) if monthly_cap is not None else None
    budget.full_clean()
    budget.save()
    if before != budget.monthly_cap:
        audit_record(
            project=project,
            actor=actor,
            action="budget.updated",
            before={"monthly_cap": str(before) if before is not None else None},
            after={"monthly_cap": str(budget.monthly_cap) if budget.monthly_cap else None},
        )
    return budget


@transaction.atomic
def low_balance_threshold_set(*, account: BillingAccount, threshold: Decimal | None) -> BillingAccount:
    """The balance under which the owner is warned (header, notice, e-mail); None: never."""
    if threshold is not None and threshold <= 0:
        raise ValidationError({"low_balance_threshold": "A warning threshold must be more than 0 "
                                                        "credits, or empty for no warning."})
    account.low_balance_threshold = to_cents(threshold) if threshold is not None else None
    account.full_clean()
    account.save(update_fields=["low_balance_threshold", "updated_at"])
    return account


@transaction.atomic
def billing_allow_user(*, account: BillingAccount, email: str, actor) -> None:
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        raise ValidationError({"email": "No account uses that e-mail address."})
    if user.pk == account.owner_id:
        raise ValidationError({"email": "That is this account's own owner."})
    account.allowed_users.add(user)


@transaction.atomic
def billing_disallow_user(*, account: BillingAccount, user) -> None:
    account.allowed_users.remove(user)
    BillingAccount.objects.filter(owner=user, charge_to=account).update(charge_to=None)


@transaction.atomic
def charges_redirect(*, account: BillingAccount, to_account: BillingAccount | None) -> BillingAccount:
    """Point `account`'s charges at another billing account that allows its owner (None: back
    to its own)."""
    if to_account is not None:
        if to_account.pk == account.pk:
            to_account = None
        elif not to_account.allowed_users.filter(pk=account.owner_id).exists():
            raise ValidationError({"charge_to": "That billing account has not allowed you to use it."})
    account.charge_to = to_account
    account.save(update_fields=["charge_to", "updated_at"])
    return account
