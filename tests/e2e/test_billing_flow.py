"""Flow 5 in a real browser: a member's job in alice's project is charged to alice; her billing
page shows the charge (by member) and the daily chart; bob's billing page shows none of it.

The job runs for real on the node's agent (AgentThread, against the live server)."""

import re
from decimal import Decimal

import pytest

from billing.accrual import accrue
from billing.models import LedgerEntry
from compute.models import GpuType
from resources.models import Job
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory, add_member
from tests.jobs_helpers import AgentThread, local_node, ready, seed_gpu_types, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_sees_the_members_job_charged_and_the_member_sees_none_of_it(live_server, browser,
                                                                             screenshots, tmp_path):
    seed_gpu_types()
    # A pricey CPU slot (operators set prices), so a two-second job costs whole cents.
    GpuType.objects.filter(slug="cpu").update(credits_per_gpu_hour=Decimal("360"))
    alice = UserFactory(email="alice@example.com", name="Alice")
    bob = UserFactory(email="bob@example.com", name="Bob")
    node = local_node(tmp_path, gpu_type="cpu", gpus=2)
    team = ready(ProjectFactory(owner=alice, name="Team X"))
    add_member(team, bob, jobs="all", datasets="read", models="read")
    base = live_server.url
    worker = AgentThread(node, tmp_path, url=live_server.url)
    worker.start()
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "bob@example.com")
        page.goto(f"{base}/jobs/")
        page.locator("#project-switcher summary").click()
        page.get_by_role("button", name=re.compile("Team X")).click()
        page.wait_for_selector("text=No jobs in Team X yet")
        page.get_by_role("button", name="New job").click()
        page.fill("input[name=name]", "bobs-training")
        page.select_option("select[name=gpu_type]", "cpu")
        page.fill("textarea[name=command]", "echo step 1\nsleep 1.5\necho step 2")
        page.get_by_role("button", name="Create and start").click()
        try:
            page.wait_for_selector("[data-status=finished]", timeout=30_000)
        except Exception as exc:  # say where the job got stuck, not only that the page waited
            stuck = Job.objects.get(name="bobs-training")
            history = list(stuck.events.values_list("status", "message"))
            raise AssertionError(f"job {stuck.status}: {stuck.status_reason} {history}") from exc
    finally:
        worker.stop()
    job = Job.objects.get(name="bobs-training")
    wait_for(lambda: job.runs.get().ended_at is not None)
    accrue()
    charges = LedgerEntry.objects.filter(kind="compute", project=team)
    assert charges.exists() and {e.account.owner for e in charges} == {alice}
    assert sum(e.amount for e in charges) <= Decimal("-0.10")

    owner_page = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    sign_in(owner_page, base, "alice@example.com")
    owner_page.goto(f"{base}/billing/")
    statement = owner_page.locator("section:has(h2:has-text('Charges by project'))").inner_text()
    assert "Team X" in statement and "bob@example.com" in statement
    heights = owner_page.locator("svg.chart rect").evaluate_all("rs => rs.map(r => +r.getAttribute('height'))")
    assert len(heights) == 30 and heights[-1] > 0  # today's bar
    assert "bobs-training" in owner_page.locator("section:has(h2:has-text('Ledger'))").inner_text()
    owner_page.screenshot(path=str(screenshots / "flow5-alice-billing.png"), full_page=True)

    page.goto(f"{base}/billing/")
    mine = page.locator("main").inner_text()
    assert "Team X" not in mine and "bobs-training" not in mine
    page.screenshot(path=str(screenshots / "flow5-bob-billing.png"), full_page=True)
