"""Ship-quality flows in a real browser: sign-up with e-mail verification; an owner builds a team
and its members see (and lose) it."""

import re

import pytest
from django.core import mail

from projects.models import Invitation, Membership, Project
from resources.models import Job
from tests.e2e.helpers import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.jobs_helpers import local_node, seed_gpu_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_and_land_on_the_dashboard(live_server, page, screenshots):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=email]", "Newcomer@Example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector("text=Verify Your Email Address")
    page.screenshot(path=str(screenshots / "flow1-verification-sent.png"), full_page=True)

    link = next(w for w in mail.outbox[-1].body.split() if "/accounts/confirm-email/" in w)
    page.goto(link if link.startswith("http") else live_server.url + link[link.index("/accounts/"):])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/projects/$"))
    assert page.locator("h1").inner_text() == "Projects"
    assert page.locator("text=My Projects").count() == 1
    assert "Personal" in page.locator("table").first.inner_text()
    assert page.locator("#project-switcher").count() == 0  # only a Personal project: no switcher
    page.screenshot(path=str(screenshots / "flow1-dashboard.png"), full_page=True)
    assert Project.objects.filter(owner__email="newcomer@example.com", is_personal=True).exists()


def test_owner_builds_a_team_and_members_see_then_lose_it(live_server, browser, screenshots, tmp_path):
    seed_gpu_types()
    local_node(tmp_path, gpu_type="cpu", gpus=2)
    UserFactory(email="alice@example.com", name="Alice")
    UserFactory(email="bob@example.com", name="Bob")
    alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    bob = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    base = live_server.url

    # alice creates "Team X" and adds bob with the default access, and an unknown address.
    sign_in(alice, base, "alice@example.com")
    alice.locator("main a[href='/projects/new/']").click()
    alice.fill("input[name=name]", "Team X")
    alice.locator("main form button[type=submit]").click()
    alice.wait_for_selector("h1:has-text('Team X')")
    alice.fill("#member-table input[name=email]", "bob@example.com")
    alice.get_by_role("button", name="Add Member").click()
    alice.wait_for_selector("#member-table >> text=Added bob@example.com.")
    alice.fill("#member-table input[name=email]", "stranger@example.com")
    alice.get_by_role("button", name="Add Member").click()
    alice.wait_for_selector("#member-table >> text=an invitation was sent")
    assert "Pending" in alice.locator("#member-table").inner_text()
    alice.screenshot(path=str(screenshots / "flow2-alice-team.png"), full_page=True)
    team = Project.objects.get(name="Team X")
    assert Membership.objects.get(project=team, user__email="bob@example.com").access() == {
        "jobs": "all", "datasets": "read", "models": "read"}
    assert Invitation.objects.filter(project=team, email="stranger@example.com", status="pending").exists()

    # bob now has a switcher, switches to Team X and sees its (empty) datasets, with no create button.
    sign_in(bob, base, "bob@example.com")
    bob.goto(f"{base}/datasets/")
    bob.locator("#project-switcher summary").click()
    bob.get_by_role("button", name=re.compile("Team X")).click()
    bob.wait_for_selector("#project-switcher summary:has-text('Team X')")  # a selector: the CSP forbids eval
    assert bob.locator("main a[href='/datasets/new/']").count() == 0
    bob.screenshot(path=str(screenshots / "flow2-bob-in-team.png"), full_page=True)

    # ... but he can create a job there (Jobs All).
    bob.get_by_role("link", name="Jobs").first.click()
    bob.get_by_role("button", name="New job").click()
    bob.fill("input[name=name]", "bob-experiment")
    bob.select_option("select[name=gpu_type]", "cpu")
    bob.fill("textarea[name=command]", "echo hello")
    bob.get_by_role("button", name="Create", exact=True).click()
    bob.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}/$"))
    assert bob.get_by_role("button", name="Start").count() == 1
    job = Job.objects.get(name="bob-experiment")
    assert job.project == team and job.status == "new"

    # alice makes bob's jobs Read-Only with Update: bob's next click on Start is refused.
    row = alice.locator("#member-table tr:has-text('bob@example.com')")
    row.locator("select[name$=-jobs]").select_option("read")
    row.get_by_role("button", name="Update").click()
    alice.wait_for_selector("#member-table >> text=Updated bob@example.com.")
    bob.get_by_role("button", name="Start").click()
    assert "Not allowed" in bob.locator("main").inner_text()
    job.refresh_from_db()
    assert job.status == "new"
    bob.screenshot(path=str(screenshots / "flow3-bob-start-refused.png"), full_page=True)

    # alice removes bob; bob's next page load falls back to Personal with a message.
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.locator("#member-table tr:has-text('bob@example.com') button:has-text('Remove')").click()
    alice.wait_for_selector("#member-table >> text=Removed bob@example.com.")
    bob.goto(f"{base}/datasets/")
    assert "You no longer have access to Team X." in bob.locator("#messages").inner_text()
    assert "Personal" in bob.locator("header").inner_text() or bob.locator("#project-switcher").count() == 0
    bob.screenshot(path=str(screenshots / "flow3-bob-removed.png"), full_page=True)
