"""Two-factor sign-in in a real browser: a security key added and used through Chromium's
virtual authenticator (DevTools protocol `WebAuthn.addVirtualAuthenticator`), with the
authenticator-app and recovery-code pages photographed on the way."""

import re

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache

from tests.e2e.helpers import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.totp import totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def authenticator(page):
    """A platform authenticator that says yes to every request (presence and verification)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    return cdp


def reauthenticate_if_asked(page):
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").first.click()


def test_security_key_added_then_sign_in_asks_for_it(live_server, page, authenticator, settings, screenshots):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # http://localhost, as in development
    user = UserFactory(email="kim@example.com")
    base = live_server.url
    sign_in(page, base, user.email)

    page.goto(f"{base}/accounts/2fa/")
    page.screenshot(path=str(screenshots / "2fa-overview.png"), full_page=True)

    # The authenticator app: QR code and secret, then a code computed here.
    page.goto(f"{base}/accounts/2fa/totp/activate/")
    reauthenticate_if_asked(page)
    page.wait_for_url(re.compile(r".*/2fa/totp/activate/$"))
    assert page.locator("img[src^='data:image/svg+xml']").is_visible()
    secret = page.input_value("#authenticator_secret")
    page.screenshot(path=str(screenshots / "2fa-totp-setup.png"), full_page=True)
    page.fill("input[name=code]", totp_code(secret))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/2fa/recovery-codes/$"))
    page.screenshot(path=str(screenshots / "2fa-recovery-codes.png"), full_page=True)
    cache.clear()

    # A security key.
    page.goto(f"{base}/accounts/2fa/webauthn/add/")
    reauthenticate_if_asked(page)
    page.wait_for_url(re.compile(r".*/2fa/webauthn/add/$"))
    page.fill("input[name=name]", "Virtual key")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(re.compile(r".*/2fa/(webauthn/|recovery-codes/|)$"))
    assert Authenticator.objects.filter(user=user, type="webauthn").count() == 1
    page.goto(f"{base}/accounts/2fa/webauthn/")
    assert "Virtual key" in page.inner_text("main")
    page.screenshot(path=str(screenshots / "2fa-security-keys.png"), full_page=True)

    # Sign in again: the password, then the key.
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/$"))
    page.screenshot(path=str(screenshots / "2fa-sign-in-second-step.png"), full_page=True)
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(re.compile(r".*/projects/$"))
    page.goto(f"{base}/account/whoami/")
    assert "kim@example.com" in page.content()


def test_owner_requires_two_factor_and_a_member_without_it_sees_the_project_locked(
        live_server, browser, screenshots):
    from tests.factories import ProjectFactory, add_member

    secret = pyotp.random_base32()
    owner = UserFactory(email="olivia@example.com")
    Authenticator.objects.create(user=owner, type="totp", data={"secret": secret})
    member = UserFactory(email="max@example.com")
    project = ProjectFactory(owner=owner, name="Vision Research")
    add_member(project, member, jobs="all", datasets="read", models="read")
    base = live_server.url

    owner_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    owner_page.goto(f"{base}/accounts/login/")
    owner_page.fill("input[name=login]", owner.email)
    owner_page.fill("input[name=password]", PASSWORD)
    owner_page.locator("main form button[type=submit]").first.click()
    owner_page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/$"))
    owner_page.fill("input[name=code]", totp_code(secret))
    owner_page.locator("main form button[type=submit]").first.click()
    owner_page.wait_for_url(re.compile(r".*/projects/$"))
    owner_page.goto(f"{base}/projects/{project.pk}/")
    owner_page.evaluate("document.getElementById('two-factor').scrollIntoView()")  # loads when revealed
    owner_page.check("input[name=require_two_factor]")
    owner_page.locator("#two-factor button[type=submit]").click()
    owner_page.wait_for_selector("text=Members must now use two-factor sign-in")
    owner_page.evaluate("document.getElementById('two-factor').scrollIntoView()")
    owner_page.wait_for_selector("#two-factor .two-factor-members")
    owner_page.locator("#two-factor").screenshot(path=str(screenshots / "project-two-factor-setting.png"))
    owner_page.screenshot(path=str(screenshots / "project-two-factor-setting-page.png"), full_page=True)
    assert "locked out" in owner_page.inner_text("#two-factor")

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, base, member.email)
    locked = page.locator("#locked-projects")
    assert "Vision Research" in locked.inner_text() and "Locked" in locked.inner_text()
    page.screenshot(path=str(screenshots / "project-list-locked.png"), full_page=True)
    page.goto(f"{base}/projects/{project.pk}/")
    assert page.locator("h1").first.inner_text() != "Vision Research"
    page.goto(f"{base}/projects/")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.wait_for_url(re.compile(r".*/accounts/2fa/$"))
