from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class BillingAccount(models.Model):
    """Where charges go. Every account has one from the moment it exists.

    An account may send its charges to another billing account whose owner allowed it
    (`allowed_users`), e.g. a company account several people charge to. One hop only: the
    account charges go to is `charge_to` if set, else this one.
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_account"
    )
    name = models.CharField(max_length=100, blank=True)
    charge_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redirected_from",
        help_text="Send this account's charges to another billing account that allows it.",
    )
    allowed_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="usable_billing_accounts",
        help_text="Accounts that may send their charges here.",
    )
    low_balance_threshold = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Warn the owner (header, notice, e-mail) when the balance falls below this.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner__email"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(low_balance_threshold__isnull=True)
                           | models.Q(low_balance_threshold__gt=0)),
                name="billing_low_balance_threshold_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"Billing account of {self.owner}"


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("Ledger entries are append-only: record an adjustment instead.")

    def delete(self):
        raise ValidationError("Ledger entries are append-only: record an adjustment instead.")

    def balance(self) -> Decimal:
        return self.aggregate(total=models.Sum("amount"))["total"] or Decimal("0")


class LedgerEntry(models.Model):
    """One charge (negative amount) or credit (positive) on a billing account. Never updated or
    deleted: corrections are adjustments. The balance is the sum of `amount`, computed in SQL."""

    class Kind(models.TextChoices):
        COMPUTE = "compute", "Compute"
        STORAGE = "storage", "Storage"
        CREDIT = "credit", "Credit"
        ADJUSTMENT = "adjustment", "Adjustment"

    # Every index is written for each of accrual's half a million rows a pass: the account's and
    # the project's own indexes are left out because the (account, …) and (project, …) ones serve.
    account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    # The project keeps its id after deletion (no constraint): statements still name it.
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="ledger_entries",
    )
    project_name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    resource = models.CharField(max_length=80, blank=True, help_text="e.g. job:<id>, dataset:<id>")
    resource_name = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal("0"))
    unit = models.CharField(max_length=16, blank=True, help_text="gpu_hour, gb_hour, credit")
    unit_price = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal("0"))
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person whose action caused this entry.",
    )
    note = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["project", "created_at"]),
            # A job page sums its job's charges on every poll (`job_credits_spent`); accrual reads
            # each resource's last charged slice.
            models.Index(fields=["resource", "period_end"], name="ledger_resource_end"),
        ]
        constraints = [
            # A constraint rather than unique=True: no second (LIKE) index beside it.
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_idempotency_key"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["compute", "storage"], amount__lte=0)
                    | models.Q(kind="credit", amount__gt=0)
                    | models.Q(kind="adjustment")
                ),
                name="ledger_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.account}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Ledger entries are append-only: record an adjustment instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only: record an adjustment instead.")


class ProjectBudget(models.Model):
    """The owner's optional monthly spending cap for one project."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="budget")
    monthly_cap = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Credits per calendar month (UTC); empty means no cap.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_cap__isnull=True) | models.Q(monthly_cap__gt=0),
                name="budget_cap_positive",
            )
        ]

    def __str__(self) -> str:
        return f"Cap {self.monthly_cap} on {self.project_id}"
