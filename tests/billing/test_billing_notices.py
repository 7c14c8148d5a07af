"""Owners are told when their credits run low (under the threshold they set), and when jobs stop
because none are left or a project reached its cap: once per episode, however many accrual passes."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notice, NoticeKind
from billing import services as billing_services
from billing.accrual import accrue
from billing.models import BillingAccount
from projects import services as project_services
from tests.billing.test_accrual_compute import _running_job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _accrue(capture):
    with capture(execute=True):
        return accrue()


def _subjects(address):
    return [m.subject for m in mail.outbox if m.to == [address]]


def test_the_owner_sets_a_threshold_and_is_warned_once_below_it(client, django_capture_on_commit_callbacks):
    olga = UserFactory(email="olga@example.com", credits=Decimal("10"))
    client.force_login(olga)
    response = client.post(reverse("billing:low-balance"), {"low_balance_threshold": "5"})
    assert response.status_code == 302
    account = BillingAccount.objects.get(owner=olga)
    assert account.low_balance_threshold == Decimal("5.00")
    assert 'value="5.00"' in client.get(reverse("billing:overview")).content.decode()

    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("olga@example.com") == []  # 10 is not below 5

    billing_services.adjustment_record(account=account, amount="-6", note="test spend")
    _accrue(django_capture_on_commit_callbacks)
    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("olga@example.com") == [
        "[Trainshed] Your balance is 4.00 credits, below your warning of 5.00"]
    assert Notice.objects.filter(user=olga, kind=NoticeKind.LOW_CREDITS).count() == 1

    # A top-up ends the episode; falling below again warns again.
    billing_services.credits_grant(account=account, amount="2")
    _accrue(django_capture_on_commit_callbacks)
    assert len(_subjects("olga@example.com")) == 1  # 6: not below 5
    billing_services.adjustment_record(account=account, amount="-3", note="test spend")
    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("olga@example.com")[1:] == [
        "[Trainshed] Your balance is 3.00 credits, below your warning of 5.00"]


@pytest.mark.parametrize("raw, message", [
    ("-3", "A warning threshold must be more than 0 credits"),
    ("lots", "enter a number of credits"),
    ("NaN", "enter a number of credits"),
])
def test_a_bad_threshold_is_refused_naming_it(client, user, raw, message):
    client.force_login(user)
    response = client.post(reverse("billing:low-balance"), {"low_balance_threshold": raw}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "Low-balance warning: " in page and message in page
    assert BillingAccount.objects.get(owner=user).low_balance_threshold is None


def test_jobs_stopped_for_no_credits_tell_the_owner_once(django_capture_on_commit_callbacks):
    poor = UserFactory(email="poor@example.com", credits=Decimal("0.05"))
    mine = project_services.project_create(owner=poor, name="Small budget")
    _running_job(mine, poor, minutes=5)
    _running_job(mine, poor, minutes=5)
    assert _accrue(django_capture_on_commit_callbacks)["jobs_stopped"] == 2
    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("poor@example.com") == [
        "[Trainshed] Your account has no credits: jobs in your projects were stopped"]


def test_a_project_at_its_cap_tells_its_owner_once(project, owner, django_capture_on_commit_callbacks):
    billing_services.budget_set(project=project, monthly_cap=Decimal("0.10"), actor=owner)
    _running_job(project, owner, minutes=5)
    _accrue(django_capture_on_commit_callbacks)
    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("owner@example.com") == [
        "[Trainshed] Vision Research reached its monthly spending cap of 0.10 credits"]
    notice = Notice.objects.get(user=owner, kind=NoticeKind.SPENDING_STOPPED)
    assert notice.url == reverse("billing:overview")


def test_spending_mails_can_be_turned_off(owner, project, django_capture_on_commit_callbacks):
    owner.mail_off = [NoticeKind.SPENDING_STOPPED]
    owner.save(update_fields=["mail_off"])
    billing_services.budget_set(project=project, monthly_cap=Decimal("0.10"), actor=owner)
    _running_job(project, owner, minutes=5)
    _accrue(django_capture_on_commit_callbacks)
    assert _subjects("owner@example.com") == []
    assert Notice.objects.filter(user=owner, kind=NoticeKind.SPENDING_STOPPED).count() == 1
