"""The caller's own billing over the REST API. Only ever the key's own account: there is no
account id to ask for, so no one else's balance can be named."""

import uuid
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from billing import selectors, services
from billing.models import BillingAccount
from core.api import ERRORS
from projects.api_auth import refuse_restricted_key

router = Router(tags=["billing"])


def _money(value) -> str:
    return str(services.to_cents(value))


class ProjectSpendOut(Schema):
    project_id: uuid.UUID | None
    name: str
    compute: str
    storage: str
    total: str


class MonthOut(Schema):
    start: datetime
    end: datetime
    total: str
    by_project: list[ProjectSpendOut]


class BillingOut(Schema):
    email: str = Field(description="The account this billing account belongs to (the caller).")
    balance: str = Field(description="Credits left on the caller's own billing account.")
    charges_to: str | None = Field(
        description="The e-mail of the billing account the caller's charges go to, when it is "
                    "another account's; null when they go to the caller's own."
    )
    this_month: MonthOut


@router.get("/billing", response={200: BillingOut, **ERRORS})
def billing_overview(request: HttpRequest):
    """Your own billing account: its balance, where your charges go, and this calendar month's
    (UTC) charges on it, by project. A key limited to one project is refused (403): this is about
    the whole account."""
    refuse_restricted_key(request)
    account = BillingAccount.objects.get(owner=request.user)
    effective = services.account_for(request.user)
    start, end = selectors.month_bounds(timezone.now())
    month = selectors.statement(account=account, start=start, end=end)
    return {
        "email": request.user.email,
        "balance": _money(services.balance(account)),
        "charges_to": effective.owner.email if effective.pk != account.pk else None,
        "this_month": {
            "start": start, "end": end, "total": _money(month["total"]),
            "by_project": [
                {"project_id": p["id"], "name": p["name"], "compute": _money(p["compute"]),
                 "storage": _money(p["storage"]), "total": _money(p["total"])}
                for p in month["projects"]
            ],
        },
    }
