"""Billing people can read: the ledger grouped per job and day (opening onto its minute rows),
amounts under a cent as "< 0.01", members' usage to three significant digits, the balance in the
header of billing pages with a warning when low, and a flat query count at any ledger size."""

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, LedgerEntry

pytestmark = pytest.mark.django_db


def _minutes(project, *, resource, name, count, price="0.5", by=None, end=None):
    """`count` minute slices of one job at `price` credits per GPU-hour, amounts by cumulative
    rounding as the accrual writes them."""
    end = end or timezone.now().replace(second=0, microsecond=0)
    per_minute = Decimal(price) / 60
    for i in range(count):
        stop = end - timedelta(minutes=count - 1 - i)
        services.charge_record(
            project=project, kind="compute", resource=resource, resource_name=name,
            quantity=Decimal(1) / 60, unit="gpu_hour", unit_price=Decimal(price),
            amount=services.slice_amount(exact_before=per_minute * i, exact_after=per_minute * (i + 1)),
            period_start=stop - timedelta(minutes=1), period_end=stop, created_by=by,
            key=f"{resource}:{stop.isoformat()}",
        )


def _render(source, **context):
    return html.unescape(Template("{% load credits %}" + source).render(Context(context)))


@pytest.mark.parametrize("value, exact, shown", [
    ("0", "0.004", "< 0.01"), ("-0.00", "0.0083", "< 0.01"), ("0", "0", "0.00"),
    ("-1234.5", None, "-1,234.50"), ("0.004", None, "< 0.01"), ("12", None, "12.00"),
])
def test_an_amount_under_a_cent_reads_less_than_a_cent(value, exact, shown):
    assert _render("{{ v|credits:e }}", v=Decimal(value), e=exact) == shown


@pytest.mark.parametrize("value, shown", [
    ("12.345", "12.3"), ("0.004123", "0.00412"), ("1234.5", "1,230"), ("9.996", "10.0"),
    ("100", "100"), ("0", "0"), ("0.5", "0.500"),
])
def test_members_usage_has_three_significant_digits(value, shown):
    assert _render("{{ v|sig3 }}", v=Decimal(value)) == shown


def test_a_jobs_minutes_are_one_row_that_opens_onto_them(client, owner, project, member_all):
    _minutes(project, resource="job:a", name="resnet", count=30, by=member_all)
    _minutes(project, resource="job:b", name="tiny", count=1, price="0.18", by=owner)
    client.force_login(owner)
    page = client.get(reverse("billing:overview")).content.decode()
    ledger = page[page.index('<div class="ledger"'):]
    assert ledger.count('<details class="ledger-group"') == 3  # two jobs and the test credits
    assert "resnet <small class=\"muted\">· 30 entries</small>" in ledger
    # 30 minutes at 0.5/h: 0.25 in all; the 1-minute job cost 0.003: not free, under a cent.
    assert '<span class="num">-0.25</span>' in ledger
    assert '<span class="num">&lt; 0.01</span>' in ledger and ">0.00</span>" not in ledger

    group = LedgerEntry.objects.filter(resource="job:a").first()
    query = {"kind": "compute", "group": "job:a", "day": timezone.localdate(group.period_end).isoformat()}
    rows = client.get(reverse("billing:ledger-group"), query, headers={"HX-Request": "true"})
    body = rows.content.decode()
    assert rows.status_code == 200 and "<html" not in body
    assert body.count("<tr>") == 31  # the header and the 30 minutes
    assert "&lt; 0.01" in body  # minutes that rounded to no cent still cost something
    full = client.get(reverse("billing:ledger-group"), query).content.decode()
    assert "<html" in full and "resnet" in full and "Vision Research" in full


def test_members_usage_in_the_statement_has_three_significant_digits(client, owner, project, member_all):
    _minutes(project, resource="job:a", name="resnet", count=7, price="0.3", by=member_all)
    client.force_login(owner)
    page = client.get(reverse("billing:overview")).content.decode()
    assert "all@example.com: 0.0400" in page  # 7 minutes at 0.3/h: 0.035, charged 0.04


@pytest.mark.parametrize("query", [
    {"kind": "compute", "group": "job:a", "day": "not-a-day"},
    {"kind": "bogus", "group": "job:a", "day": "2026-01-01"},
    {"kind": "compute", "group": "job:a", "day": "2001-01-01"},
    {"kind": "compute", "group": "entry:abc", "day": "2026-01-01"},
])
def test_a_bad_or_empty_group_is_a_404(client, owner, project, query):
    _minutes(project, resource="job:a", name="resnet", count=2)
    client.force_login(owner)
    assert client.get(reverse("billing:ledger-group"), query).status_code == 404


def test_another_accounts_group_is_a_404(client, owner, project, outsider):
    _minutes(project, resource="job:a", name="resnet", count=2)
    day = timezone.localdate(LedgerEntry.objects.filter(resource="job:a").first().period_end)
    client.force_login(outsider)
    response = client.get(reverse("billing:ledger-group"), {"kind": "compute", "group": "job:a", "day": day})
    assert response.status_code == 404


def test_the_header_shows_the_balance_on_billing_pages_and_warns_when_low(client, owner, project):
    client.force_login(owner)
    billing = client.get(reverse("billing:overview")).content.decode()
    assert 'id="header-balance" class="header-balance"' in billing and "1,000.00 credits</a>" in billing
    assert 'id="header-balance"' not in client.get(reverse("accounts:settings")).content.decode()

    services.low_balance_threshold_set(account=BillingAccount.objects.get(owner=owner), threshold=Decimal("2000"))
    billing = client.get(reverse("billing:overview")).content.decode()
    assert 'class="header-balance low"' in billing and "⚠ Low balance: 1,000.00 credits" in billing


def test_a_member_sees_their_own_balance_never_the_owners(client, project, member_all):
    client.force_login(member_all)
    page = client.get(reverse("billing:overview")).content.decode()
    assert "1,000.00 credits</a>" in page  # the member's own test credits


@pytest.mark.parametrize("jobs", [10, 400])
def test_the_billing_page_costs_the_same_at_any_ledger_size(client, owner, project, jobs,
                                                           django_assert_max_num_queries):
    base = timezone.now().replace(second=0, microsecond=0)
    account = BillingAccount.objects.get(owner=owner)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(account=account, project=project, project_name=project.name, kind="compute",
                    resource=f"job:{j}", resource_name=f"job {j}", quantity=Decimal(1) / 60, unit="gpu_hour",
                    unit_price=Decimal("0.5"), amount=Decimal("-0.01"),
                    period_start=base - timedelta(minutes=m + 1), period_end=base - timedelta(minutes=m),
                    idempotency_key=f"bulk:{j}:{m}")
        for j in range(jobs) for m in range(25)
    )
    client.force_login(owner)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("billing:overview"))
    assert response.status_code == 200
    assert response.content.decode().count('<details class="ledger-group"') == min(jobs + 1, 25)
