"""Compute accrual: GPU-minutes of job runs to the project owner's account, in whole cents,
idempotent, and the limits that stop jobs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from billing import services as billing_services
from billing.accrual import accrue, accrue_compute
from billing.models import BillingAccount, LedgerEntry
from compute.models import GpuType
from projects import services as project_services
from resources.models import Job, JobRun, JobStatus
from tests.factories import UserFactory
from tests.jobs_helpers import agent_for, local_node, make_job, ready, run_agent

pytestmark = pytest.mark.django_db

A100 = Decimal("3.09")


def _running_job(project, person, *, minutes: float, ended: bool = False, gpus: int = 1,
                 heartbeat_lag: timedelta = timedelta(0)):
    """A job that ran for `minutes` on an a100 (rows as the runner writes them)."""
    now = timezone.now()
    start = now - timedelta(minutes=minutes)
    a100 = GpuType.objects.get(slug="a100")
    job = Job.objects.create(
        project=project, name="train", type="training", gpu_type=a100, gpu_count=gpus,
        command="python train.py", created_by=person,
        status=JobStatus.FINISHED if ended else JobStatus.RUNNING, started_at=start,
        ended_at=now if ended else None, last_heartbeat=now - heartbeat_lag,
    )
    JobRun.objects.create(job=job, started_at=start, ended_at=now if ended else None,
                          last_heartbeat=now - heartbeat_lag, started_by=person,
                          gpu_type=a100, gpu_count=gpus)
    return job


def _compute():
    return LedgerEntry.objects.filter(kind="compute").order_by("period_start")


def test_an_ended_run_is_charged_per_minute_plus_a_final_partial_slice(project, owner, member_all):
    _running_job(project, member_all, minutes=10.5, ended=True)
    accrue_compute()
    entries = list(_compute())
    assert len(entries) == 11
    assert all(e.amount == e.amount.quantize(Decimal("0.01")) for e in entries)
    # 1 GPU × 3.09/h × 10.5 min = 0.54075 → 0.54 in total, to the cent.
    assert -sum(e.amount for e in entries) == Decimal("0.54")
    assert {e.account.owner for e in entries} == {owner}
    assert {e.created_by for e in entries} == {member_all}
    assert entries[-1].period_end - entries[-1].period_start == timedelta(seconds=30)


def test_a_running_run_is_charged_up_to_its_heartbeat_and_never_twice(project, owner):
    job = _running_job(project, owner, minutes=5.5, gpus=4)
    accrue_compute()
    assert _compute().count() == 5  # whole minutes only while it runs
    assert accrue_compute().created == 0
    # Two more minutes of heartbeats.
    later = timezone.now() + timedelta(minutes=2)
    JobRun.objects.filter(job=job).update(last_heartbeat=later)
    accrue_compute(now=later)
    assert _compute().count() == 7
    assert -sum(e.amount for e in _compute()) == Decimal("1.44")  # 4 × 3.09 × 7/60 = 1.442


def test_a_reaped_run_is_charged_only_up_to_its_last_heartbeat(project, owner):
    _running_job(project, owner, minutes=30, ended=True, heartbeat_lag=timedelta(minutes=20))
    accrue_compute()
    assert _compute().count() == 10


def test_after_a_transfer_later_slices_go_to_the_new_owner(project, owner, member_read):
    job = _running_job(project, member_read, minutes=3)
    accrue_compute()
    project_services.transfer_offer(project=project, to_user=member_read, actor=owner)
    project_services.transfer_respond(project=project, user=member_read, accept=True)
    later = timezone.now() + timedelta(minutes=2)
    JobRun.objects.filter(job=job).update(last_heartbeat=later)
    accrue_compute(now=later)
    owners = [e.account.owner for e in _compute()]
    assert owners[:3] == [owner] * 3 and owners[3:] == [member_read] * 2


def test_running_out_of_credits_stops_the_accounts_running_jobs(project):
    poor = UserFactory(email="poor@example.com", credits=Decimal("0.05"))
    mine = project_services.project_create(owner=poor, name="Small budget")
    job = _running_job(mine, poor, minutes=5)
    other_job = _running_job(project, project.owner, minutes=5)
    result = accrue()
    assert result["jobs_stopped"] == 1
    job.refresh_from_db()
    other_job.refresh_from_db()
    assert job.stop_requested_at is not None and job.status_reason == "out of credits"
    assert other_job.stop_requested_at is None
    assert billing_services.balance(BillingAccount.objects.get(owner=poor)) <= 0


def test_reaching_the_monthly_cap_stops_the_projects_jobs(project, owner):
    billing_services.budget_set(project=project, monthly_cap=Decimal("0.10"), actor=owner)
    job = _running_job(project, owner, minutes=5)  # 0.26 credits: over the cap
    accrue()
    job.refresh_from_db()
    assert job.status_reason == "monthly spending cap reached"
    with pytest.raises(Exception, match="monthly spending cap"):
        billing_services.ensure_can_spend(project=project)


def test_a_real_job_is_charged_to_the_owner_when_a_member_runs_it(project, owner, member_all, tmp_path):
    agent = agent_for(local_node(tmp_path), tmp_path)
    ready(project)
    job = make_job(project, member_all, command="sleep 1.2; echo done")
    from resources.jobs import services as job_services

    job_services.job_start(job=job, actor=member_all)
    run_agent(agent)
    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED
    accrue_compute()
    entries = list(_compute())
    assert entries and all(e.account.owner == owner and e.created_by == member_all for e in entries)
    assert entries[-1].period_end == job.runs.get().ended_at
    assert not LedgerEntry.objects.filter(account__owner=member_all, kind="compute").exists()


def test_a_run_that_ended_during_weeks_without_accrual_is_still_charged(project, owner):
    job = _running_job(project, owner, minutes=30, ended=True)
    ten_days = timedelta(days=10)
    Job.objects.filter(pk=job.pk).update(started_at=F("started_at") - ten_days, ended_at=F("ended_at") - ten_days)
    JobRun.objects.filter(job=job).update(started_at=F("started_at") - ten_days, ended_at=F("ended_at") - ten_days,
                                          last_heartbeat=F("last_heartbeat") - ten_days)
    other = _running_job(project, owner, minutes=3)  # charged now: accrual runs again after the gap
    accrue_compute()
    assert _compute().filter(resource=f"job:{job.pk}").count() == 30
    assert -sum(e.amount for e in _compute().filter(resource=f"job:{job.pk}")) == Decimal("1.55")  # 3.09/2
    assert _compute().filter(resource=f"job:{other.pk}").count() == 3
