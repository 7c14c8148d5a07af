"""In a real browser: a member added to a project sees the bell's count, reads the notice and turns
that kind of e-mail off; an owner reads the grouped ledger, opens a job's day onto its minutes and
sees the header warn that the balance is under the threshold she set."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from billing import services as billing_services
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_member_is_told_reads_the_notice_and_turns_the_mail_off(live_server, page, screenshots):
    alice = UserFactory(email="alice@example.com", name="Alice")
    UserFactory(email="bob@example.com", name="Bob")
    team = ProjectFactory(owner=alice, name="Team X")
    base = live_server.url

    sign_in(page, base, "alice@example.com")
    page.goto(f"{base}/projects/{team.pk}/")
    page.fill("input[name=email]", "bob@example.com")
    page.locator("form:has(input[name=email]) button[type=submit]").first.click()
    page.wait_for_selector("text=bob@example.com")
    assert [m.subject for m in mail.outbox if m.to == ["bob@example.com"]] == [
        "[Trainshed] You were added to Team X"]
    page.context.clear_cookies()

    sign_in(page, base, "bob@example.com")
    bell = page.locator("a.bell")
    assert bell.get_attribute("aria-label") == "Notices: 1 unread"
    assert bell.locator(".bell-count").inner_text() == "1"
    page.screenshot(path=str(screenshots / "notices-bell.png"))
    bell.click()
    page.wait_for_url(re.compile(r".*/account/notices/$"))
    assert "You were added to Team X" in page.locator("main").inner_text()
    assert "Added by Alice" in page.locator("main").inner_text()
    page.screenshot(path=str(screenshots / "notices-page.png"), full_page=True)
    page.get_by_role("button", name="You were added to Team X").click()
    page.wait_for_url(re.compile(rf".*/projects/{team.pk}/$"))
    assert page.locator("a.bell .bell-count").count() == 0

    page.goto(f"{base}/account/")
    page.get_by_label("Added to a project").uncheck()
    page.get_by_role("button", name="Save e-mail preferences").click()
    page.wait_for_selector("text=E-mail preferences saved.")
    assert not page.get_by_label("Added to a project").is_checked()
    assert page.get_by_label("Your access to a project changed").is_checked()
    page.locator("#mail-preferences").screenshot(path=str(screenshots / "notices-mail-settings.png"))
    assert User.objects.get(email="bob@example.com").mail_off == ["member_added"]


def test_the_owner_reads_the_grouped_ledger_and_the_low_balance_warning(live_server, page, screenshots):
    olga = UserFactory(email="olga@example.com", name="Olga", credits=Decimal("20"))
    team = ProjectFactory(owner=olga, name="Team X")
    end = timezone.now().replace(second=0, microsecond=0)
    per_minute = Decimal("0.3") / 60
    for i in range(45):  # a job's 45 minutes at 0.3 credits per GPU-hour
        stop = end - timedelta(minutes=44 - i)
        billing_services.charge_record(
            project=team, kind="compute", resource="job:resnet", resource_name="resnet-50",
            quantity=Decimal(1) / 60, unit="gpu_hour", unit_price=Decimal("0.3"),
            amount=billing_services.slice_amount(exact_before=per_minute * i, exact_after=per_minute * (i + 1)),
            period_start=stop - timedelta(minutes=1), period_end=stop, created_by=olga, key=f"m{i}",
        )
    base = live_server.url
    sign_in(page, base, "olga@example.com")
    page.goto(f"{base}/billing/")
    header = page.locator("#header-balance")
    assert header.inner_text() == "19.77 credits"  # 20 − 0.225, charged 0.23 in minute slices

    page.fill("#low-balance-threshold", "25")
    page.locator("form:has(#low-balance-threshold) button").click()
    page.wait_for_selector("text=You will be warned when your balance falls below 25.00 credits.")
    assert page.locator("#header-balance.low").inner_text() == "⚠ Low balance: 19.77 credits"
    page.screenshot(path=str(screenshots / "billing-header-low.png"))

    group = page.locator("details.ledger-group", has_text="resnet-50")
    assert "45 entries" in group.locator("summary").inner_text()
    group.locator("summary").click()
    rows = group.locator(".ledger-entries tbody tr")
    rows.first.wait_for()
    assert rows.count() == 45
    assert "< 0.01" in group.locator(".ledger-entries").inner_text()
    group.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "billing-ledger-grouped.png"), full_page=True)
    page.locator(".ledger").screenshot(path=str(screenshots / "billing-ledger-opened.png"))

    # Without JavaScript the row's link opens its entries on a page of their own.
    href = page.locator("details.ledger-group", has_text="resnet-50").get_attribute("hx-get")
    page.goto(base + href)
    assert page.locator("h1").inner_text() == "resnet-50"
    assert page.locator("table.ledger-entries-table tbody tr").count() == 45
    page.screenshot(path=str(screenshots / "billing-ledger-group-page.png"))
