"""Steps the browser flows share."""

import re


def sign_in(page, base: str, email: str) -> None:
    """Log in through the real form and land on the dashboard."""
    from tests.factories import PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/projects/$"))
