"""Storage accrual: GB-hours to the owner, hourly, idempotent."""

import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from billing.accrual import accrue, accrue_storage
from billing.models import LedgerEntry
from resources.models import Dataset, StoredStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _not_at_the_turn_of_an_hour():
    """These tests reckon complete hours from the wall clock, in the fixtures and in the passes:
    one that starts in the last seconds of an hour waits for the next (at most 20 s)."""
    import time

    now = timezone.now()
    left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left < 20:
        time.sleep(left + 0.5)


@pytest.fixture
def dataset(project, member_all, settings):
    settings.TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH = "7.30"  # 0.01 credits per GB-hour
    created = timezone.now().replace(minute=20, second=0, microsecond=0) - timedelta(hours=5)
    ds = Dataset.objects.create(project=project, name="Big", status=StoredStatus.READY,
                                size_bytes=250 * 10**9, file_count=1, created_by=member_all)
    Dataset.objects.filter(pk=ds.pk).update(created_at=created)
    ds.refresh_from_db()
    return ds


def _storage_entries():
    return LedgerEntry.objects.filter(kind="storage").order_by("period_start")


def test_each_complete_hour_is_charged_to_the_owner(dataset, owner, member_all):
    result = accrue_storage()
    entries = list(_storage_entries())
    # Created at hh:20 five hours ago: the complete hours are the four after that hour.
    assert result.created == len(entries) == 4
    assert all(e.amount == Decimal("-2.50") for e in entries)  # 250 GB × 0.01
    assert {e.account.owner for e in entries} == {owner}
    assert {e.created_by for e in entries} == {member_all}
    assert entries[0].quantity == Decimal("250") and entries[0].unit == "gb_hour"
    assert all(e.period_end - e.period_start == timedelta(hours=1) for e in entries)


def test_a_second_pass_charges_nothing_new(dataset):
    first = accrue()["storage"].created
    second = accrue()["storage"].created
    assert first == 4 and second == 0
    assert _storage_entries().count() == 4


def test_later_pass_charges_only_the_new_hours(dataset):
    accrue_storage()
    accrue_storage(now=timezone.now() + timedelta(hours=2))
    assert _storage_entries().count() == 6


def test_tiny_datasets_round_by_cumulative_cents(project, settings):
    settings.TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH = "7.30"  # 0.01 per GB-hour
    ds = Dataset.objects.create(project=project, name="Small", status=StoredStatus.READY,
                                size_bytes=3 * 10**8, file_count=1)  # 0.3 GB: 0.003 per hour
    Dataset.objects.filter(pk=ds.pk).update(created_at=timezone.now() - timedelta(hours=11))
    accrue_storage()
    amounts = [-e.amount for e in _storage_entries()]
    assert len(amounts) == 10
    assert sum(amounts) == Decimal("0.03")  # 10 h × 0.003 = 0.03 exactly, in whole cents
    assert set(amounts) <= {Decimal("0"), Decimal("0.01")}


def test_accrue_command_reports_and_schedules(dataset):
    out = StringIO()
    call_command("accrue", "--schedule", stdout=out)
    text = out.getvalue()
    assert "storage: 4 new ledger entries" in text and "periodic accrual queued" in text
    out = StringIO()
    call_command("accrue", "--schedule", stdout=out)
    assert "storage: 0 new ledger entries" in out.getvalue()
    assert "already queued" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_passes_charge_each_slice_once(dataset):
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            accrue_storage()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _storage_entries().count() == 4
    assert _storage_entries().values("idempotency_key").distinct().count() == 4


def test_a_pass_after_weeks_without_accrual_charges_every_hour_in_between(dataset):
    accrue_storage()  # 4 hours charged
    # Accrual stops for ten days (a worker down); the next pass charges the whole gap, not a week of it.
    later = timezone.now() + timedelta(days=10)
    accrue_storage(now=later)
    entries = list(_storage_entries())
    first_start = dataset.created_at.replace(minute=0) + timedelta(hours=1)
    hours = int((later.replace(minute=0, second=0, microsecond=0) - first_start) / timedelta(hours=1))
    assert len(entries) == hours == 4 + 240
    assert all(b.period_start == a.period_end for a, b in zip(entries, entries[1:], strict=False))
    assert -sum(e.amount for e in entries) == Decimal("2.50") * hours


def test_the_first_pass_ever_charges_since_the_resource_appeared(project, member_all, settings):
    settings.TRAINSHED_STORAGE_CREDITS_PER_GB_MONTH = "7.30"
    ds = Dataset.objects.create(project=project, name="Old", status=StoredStatus.READY, size_bytes=10**9,
                                file_count=1, created_by=member_all)
    created = timezone.now().replace(minute=20, second=0, microsecond=0) - timedelta(days=20)
    Dataset.objects.filter(pk=ds.pk).update(created_at=created)
    accrue_storage()
    assert _storage_entries().count() == 20 * 24 - 1  # every complete hour after the hour it appeared in
