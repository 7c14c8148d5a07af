"""The ledger: every charge to the project owner's account, in whole cents, never twice."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, LedgerEntry
from projects import services as project_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _charge(project, *, key, amount="1.25", by=None, when=None):
    end = when or timezone.now()
    return services.charge_record(
        project=project, kind="compute", resource="job:x", resource_name="train", quantity=Decimal("0.5"),
        unit="gpu_hour", unit_price=Decimal("2.5"), amount=Decimal(amount),
        period_start=end - timedelta(minutes=1), period_end=end, created_by=by, key=key,
    )


def test_cumulative_rounding_keeps_a_resource_exact_to_the_cent():
    # 1 GPU at 0.50 credits/hour, charged per minute for 61 minutes.
    rate_per_minute = Decimal("0.50") / 60
    slices = [
        services.slice_amount(exact_before=rate_per_minute * i, exact_after=rate_per_minute * (i + 1))
        for i in range(61)
    ]
    assert all(s == s.quantize(Decimal("0.01")) for s in slices)
    assert sum(slices) == Decimal("0.51")  # 61 × 0.008333… = 0.508333… → 0.51
    assert slices.count(Decimal("0.01")) == 51 and slices.count(Decimal("0")) == 10


def test_charge_goes_to_the_owner_not_the_member_who_caused_it(project, owner, member_all):
    entry = _charge(project, key="k1", by=member_all)
    assert entry.account.owner == owner
    assert entry.created_by == member_all and entry.amount == Decimal("-1.25")
    assert not LedgerEntry.objects.filter(account__owner=member_all, kind__in=["compute", "storage"]).exists()


def test_same_slice_is_never_charged_twice(project):
    assert _charge(project, key="job:x:1") is not None
    assert _charge(project, key="job:x:1") is None
    assert LedgerEntry.objects.filter(idempotency_key="job:x:1").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_of_one_slice_write_one_entry(project):
    barrier = threading.Barrier(4)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append(_charge(project, key="job:race:7"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for r in results if r is not None) == 1
    assert LedgerEntry.objects.filter(idempotency_key="job:race:7").count() == 1


def test_ledger_rows_cannot_be_updated_or_deleted(project):
    entry = _charge(project, key="immutable")
    entry.amount = Decimal("0")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=0)
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("-1.25")


def test_ledger_is_read_only_in_the_admin(admin_client, project):
    entry = _charge(project, key="admin")
    assert admin_client.post(reverse("admin:billing_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:billing_ledgerentry_add")).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_balance_is_the_sum_and_refusal_says_the_owner_has_no_credits():
    from tests.factories import ProjectFactory

    owner = UserFactory(email="broke@example.com", credits=0)
    project = ProjectFactory(owner=owner)
    account = BillingAccount.objects.get(owner=owner)
    assert services.balance(account) == 0
    with pytest.raises(ValidationError, match="project owner's account has no credits"):
        services.ensure_can_spend(project=project)
    services.credits_grant(account=account, amount="10")
    services.ensure_can_spend(project=project)
    _charge(project, key="a", amount="4.50")
    assert services.balance(account) == Decimal("5.50")
    _charge(project, key="b", amount="5.50")
    with pytest.raises(ValidationError, match="no credits"):
        services.ensure_can_spend(project=project)


def test_monthly_cap_refuses_new_spending(project, owner):
    services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount="100")
    services.budget_set(project=project, monthly_cap=Decimal("5"), actor=owner)
    _charge(project, key="c1", amount="3")
    services.ensure_can_spend(project=project)
    _charge(project, key="c2", amount="2")
    with pytest.raises(ValidationError, match="monthly spending cap"):
        services.ensure_can_spend(project=project)
    # Next month starts from zero again.
    next_month = timezone.now() + timedelta(days=32)
    assert services.project_month_spend(project=project, now=next_month) == Decimal("0")


def test_charges_follow_a_redirect_to_an_allowing_account(project, owner):
    company = UserFactory(email="finance@example.com")
    company_account = BillingAccount.objects.get(owner=company)
    own = BillingAccount.objects.get(owner=owner)
    with pytest.raises(ValidationError, match="not allowed you"):
        services.charges_redirect(account=own, to_account=company_account)
    services.billing_allow_user(account=company_account, email="owner@example.com", actor=company)
    services.charges_redirect(account=own, to_account=company_account)
    assert _charge(project, key="r1").account == company_account
    services.billing_disallow_user(account=company_account, user=owner)
    assert _charge(project, key="r2").account == own


def test_after_transfer_later_charges_go_to_the_new_owner(project, owner, member_read):
    assert _charge(project, key="t1").account.owner == owner
    project_services.transfer_offer(project=project, to_user=member_read, actor=owner)
    project_services.transfer_respond(project=project, user=member_read, accept=True)
    project.refresh_from_db()
    assert _charge(project, key="t2").account.owner == member_read


def test_grant_credits_command(owner):
    call_command("grant_credits", "OWNER@example.com", "12.345", "--note", "welcome")
    entry = LedgerEntry.objects.get(account__owner=owner, note="welcome")
    assert entry.amount == Decimal("12.35") and entry.note == "welcome" and entry.kind == "credit"
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="more than 0"):
        call_command("grant_credits", "owner@example.com", "-5")


def test_billing_page_shows_balance_statement_chart_and_ledger(client, project, owner, member_all):
    services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount="100")
    _charge(project, key="p1", amount="7.25", by=member_all)
    client.force_login(owner)
    html = client.get(reverse("billing:overview")).content.decode()
    assert "1,092.75" in html  # balance: 1000 starting + 100 granted − 7.25
    assert "Vision Research" in html and "all@example.com: 7.25" in html
    assert "<svg" in html and "<rect" in html


def test_member_sees_only_their_own_billing(client, project, owner, member_all):
    services.credits_grant(account=BillingAccount.objects.get(owner=owner), amount="100")
    _charge(project, key="m1", amount="7.25", by=member_all)
    client.force_login(member_all)
    html = client.get(reverse("billing:overview")).content.decode()
    assert "100.00" not in html and "92.75" not in html and "7.25" not in html


def test_ledger_csv_is_streamed(client, project, owner):
    for i in range(30):
        _charge(project, key=f"csv{i}", amount="0.10")
    client.force_login(owner)
    response = client.get(reverse("billing:ledger-csv"))
    assert response.streaming and response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("created_at,kind,project")
    assert len(lines) == 1 + 30 + 1  # header, the charges, the test account's starting credit
    assert lines[1].split(",")[7] == "-0.10"


def test_billing_page_query_count_is_flat(client, project, owner, django_assert_num_queries):
    client.force_login(owner)
    _charge(project, key="q0")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(reverse("billing:overview"))
    for i in range(200):
        _charge(project, key=f"q{i + 1}", when=timezone.now() - timedelta(hours=i))
    with CaptureQueriesContext(connection) as large:
        client.get(reverse("billing:overview"))
    assert len(large.captured_queries) == len(small.captured_queries)



def _credits(account, project, count, *, start=0):
    LedgerEntry.objects.bulk_create(
        [LedgerEntry(account=account, project=project, project_name=project.name, kind="credit",
                     quantity=Decimal("1"), unit="credit", unit_price=Decimal("1"), amount=Decimal("0.01"),
                     idempotency_key=f"flat{i}") for i in range(start, start + count)],
        batch_size=2000,
    )


def test_ledger_is_paged_in_the_same_queries_at_10_and_10000_rows_without_counting(client, project, owner):
    account = BillingAccount.objects.get(owner=owner)
    _credits(account, project, 10)
    client.force_login(owner)
    client.get(reverse("billing:overview"))  # the session and permissions, loaded once
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("billing:overview"))
    _credits(account, project, 9_990, start=10)
    with CaptureQueriesContext(connection) as large:
        html = client.get(reverse("billing:overview")).content.decode()
    with CaptureQueriesContext(connection) as later:
        later_html = client.get(reverse("billing:overview") + "?page=200").content.decode()
    assert len(small.captured_queries) == len(large.captured_queries) == len(later.captured_queries)
    # No COUNT(*) to page (the grouped rows count their own entries, within a page's groups).
    assert not any("COUNT(*)" in q["sql"].upper() and "billing_ledgerentry" in q["sql"]
                   for q in large.captured_queries)
    assert "Older" in html and "Newer" not in html
    assert "Page 200" in later_html and "Older" in later_html and "Newer" in later_html
