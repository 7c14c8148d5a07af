"""Starting a job asks billing once (one read: the account the owner's charges go to, its balance,
the project's cap) and still refuses as before: no credits on the account the charges go to, or
the monthly cap reached."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing import services as billing
from billing.models import BillingAccount, LedgerEntry
from resources.jobs import services
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import make_job, ready

_n = itertools.count()


@pytest.fixture
def project(db):
    """A project whose owner has no credits yet."""
    return ProjectFactory(owner=UserFactory(email="poor@example.com", credits=0), name="Lean")


@pytest.fixture
def company(project):
    """A company account (no credits yet) that allows the project's owner to charge to it."""
    boss = UserFactory(email="boss@example.com", credits=0)
    account = BillingAccount.objects.get(owner=boss)
    billing.billing_allow_user(account=account, email=project.owner.email, actor=boss)
    return account


def _own(project) -> BillingAccount:
    return BillingAccount.objects.get(owner=project.owner)


def _starts(project) -> bool:
    n = next(_n)
    make_node(gpu_type="cpu", gpus=2, name=f"cpu-{n}")
    ready(project)
    job = make_job(project, project.owner, name=f"job {n}")
    try:
        services.job_start(job=job, actor=project.owner)
    except ValidationError as exc:
        assert exc.code == "no_credits" or "credits" in str(exc) or "cap" in str(exc).lower()
        return False
    return True


def test_the_owners_own_credits_decide_when_charges_are_not_redirected(project, company):
    assert not _starts(project)  # none of their own (the company's do not count)
    billing.credits_grant(account=company, amount=50)
    assert not _starts(project)
    billing.credits_grant(account=_own(project), amount=50)
    assert _starts(project)


def test_redirected_charges_need_credits_on_the_account_they_go_to(project, company):
    billing.credits_grant(account=_own(project), amount=50)
    billing.charges_redirect(account=_own(project), to_account=company)
    assert not _starts(project)  # their own credits do not count while charges go elsewhere
    billing.credits_grant(account=company, amount=50)
    assert _starts(project)


def test_a_redirect_no_longer_allowed_falls_back_to_the_owners_own_account(project, company):
    billing.credits_grant(account=company, amount=50)
    billing.charges_redirect(account=_own(project), to_account=company)
    company.allowed_users.remove(project.owner)  # the row still points there; it no longer counts
    assert not _starts(project)
    billing.credits_grant(account=_own(project), amount=50)
    assert _starts(project)


def test_the_monthly_cap_still_refuses(project):
    billing.credits_grant(account=_own(project), amount=50)
    billing.budget_set(project=project, monthly_cap=Decimal("1.00"), actor=project.owner)
    assert _starts(project)
    now = timezone.now()
    billing.charge_record(project=project, kind=LedgerEntry.Kind.COMPUTE, resource="job:x", resource_name="x",
                          quantity=Decimal("1"), unit="gpu-hour", unit_price=Decimal("1.00"),
                          amount=Decimal("1.00"), period_start=now, period_end=now, created_by=None, key="k")
    assert not _starts(project)
