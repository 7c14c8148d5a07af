"""Two owners each have a project called "Team", both shared with Pat: the switcher and the API-key
project picker show whose is whose; and a company billing account that both owners charge to shows
the owner beside each "Team" in its statement."""

import re

import pytest

from tests.e2e.helpers import sign_in
from tests.factories import UserFactory
from tests.projects.test_project_names_apart import company_charged_by_two_teams

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_shared_names_show_their_owner(live_server, page, screenshots):
    pat = UserFactory(email="pat@example.com", name="Pat")
    company_owner = company_charged_by_two_teams(also_member=pat)
    base = live_server.url

    sign_in(page, base, pat.email)
    page.locator("#project-switcher summary").click()
    page.wait_for_selector("#switcher-choices .switcher-choice >> nth=2")
    choices = page.locator("#switcher-choices").inner_text()
    assert "Team · ann@example.com" in choices and "Team · bob@example.com" in choices
    page.screenshot(path=str(screenshots / "e2e-names-switcher.png"))

    page.get_by_role("button", name=re.compile("^Team · bob")).click()
    page.wait_for_selector("text=Active project: Team.")
    assert "bob@example.com" in page.locator("#project-switcher summary").inner_text()  # the active one too
    page.screenshot(path=str(screenshots / "e2e-names-switcher-active.png"))

    page.goto(f"{base}/account/api-keys/")
    options = page.locator("select[name=project] option").all_inner_texts()
    assert "Team · ann@example.com" in options and "Team · bob@example.com" in options
    page.locator("select[name=project]").select_option(label="Team · bob@example.com")
    page.screenshot(path=str(screenshots / "e2e-names-api-keys.png"), full_page=True)

    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/"))
    sign_in(page, base, company_owner.email)
    page.goto(f"{base}/billing/")
    statement = page.locator("table").first.inner_text()
    assert re.search(r"Team · ann@example.com", statement) and re.search(r"Team · bob@example.com", statement)
    ledger = page.locator(".ledger").inner_text()  # one row per resource and day (a grid, not a table)
    assert "Team · ann@example.com" in ledger and "Team · bob@example.com" in ledger
    page.screenshot(path=str(screenshots / "e2e-names-billing.png"), full_page=True)
