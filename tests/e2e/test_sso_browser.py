"""Single sign-on against a real OpenID Connect provider (panva/oidc-provider, started by the
test in its own process on loopback; nothing mocked): the browser goes through the provider's
own login and consent pages.

- A first sign-in creates the account (Personal project, billing account) from the provider's
  verified address, and accepts a pending invitation to that address.
- An existing account with that address is not signed in by the provider: the person proves it
  is theirs by signing in with its password and connecting the provider; from then on the
  provider signs them in.
- Operators' limits: sign-up only for some e-mail domains.
"""

import re
import shutil

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount

from accounts.models import User
from projects.models import Invitation, Membership
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLIENT_ID, SECRET, PROVIDER_ID, NAME = "trainshed", "test-client-secret", "corp", "Corp SSO"


@pytest.fixture(scope="module")
def oidc(live_server):
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed to run the OpenID Connect provider (tests/oidc)")
    from tests.oidc.server import Provider

    provider = Provider(client_id=CLIENT_ID, secret=SECRET,
                        redirect_uri=f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/")
    yield provider
    provider.stop()


@pytest.fixture
def sso(oidc, settings):
    from config.oidc import oidc_apps

    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": oidc_apps(
        f'[{{"id": "{PROVIDER_ID}", "name": "{NAME}", "issuer": "{oidc.issuer}", '
        f'"client_id": "{CLIENT_ID}", "secret": "{SECRET}"}}]')}}
    return oidc


def through_provider(page, login: str) -> None:
    """From our "Sign in with Corp SSO" confirmation to the provider and back: its login page
    (unless the provider's own session remembers the person) and its consent page (unless it
    remembers the grant)."""
    page.wait_for_url(re.compile(r".*/accounts/oidc/corp/login/.*"))
    page.locator("main form button[type=submit]").first.click()  # allauth: continue to the provider
    back = re.compile(r"http://localhost:\d+/(?!accounts/oidc/corp/login/(\?|$)).*")  # back with us
    page.wait_for_url(re.compile(r"(http://127\.0\.0\.1:\d+/interaction/.*)|" + back.pattern))
    if "/interaction/" in page.url and page.locator("input[name=login]").count():
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", "any password")
        page.click("button:has-text('Sign-in')")
        page.wait_for_url(re.compile(r"(http://127\.0\.0\.1:\d+/interaction/.*)|" + back.pattern))
    if "/interaction/" in page.url:
        page.wait_for_selector("button:has-text('Continue')")  # the consent page
        page.click("button:has-text('Continue')")
    page.wait_for_url(back)


def test_first_sign_in_creates_the_account_and_accepts_the_invitation(live_server, page, sso, screenshots):
    from projects.services import member_add_by_email

    owner = UserFactory(email="lead@corp.example")
    project = ProjectFactory(owner=owner, name="Vision Research")
    member_add_by_email(project=project, email="new@corp.example", actor=owner,
                        jobs="all", datasets="read", models="read")
    assert Invitation.objects.filter(email="new@corp.example", status="pending").exists()

    page.goto(f"{live_server.url}/accounts/login/")
    button = page.get_by_role("button", name=f"Sign in with {NAME}")
    assert button.is_visible()
    page.screenshot(path=str(screenshots / "sso-sign-in-page.png"), full_page=True)
    button.click()
    through_provider(page, "new@corp.example")
    page.wait_for_url(re.compile(r".*/projects/$"))
    assert "Vision Research" in page.content()  # the invitation was accepted

    user = User.objects.get(email="new@corp.example")
    assert user.owned_projects.filter(is_personal=True).exists()
    assert user.billing_account is not None
    assert EmailAddress.objects.get(user=user).verified
    assert SocialAccount.objects.get(user=user).provider == PROVIDER_ID
    assert Membership.objects.get(project=project, user=user).jobs == "all"
    assert Invitation.objects.get(email="new@corp.example").status == "accepted"


def test_an_existing_account_is_linked_only_after_it_proves_it_owns_the_address(live_server, page, sso):
    from tests.factories import PASSWORD

    existing = UserFactory(email="pat@corp.example")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {NAME}").click()
    through_provider(page, "pat@corp.example")
    # Not signed in, and no account created: allauth answers as it would for a new address
    # (nothing says whether an account exists).
    assert "Verify Your Email Address" in page.inner_text("main")
    page.goto(f"{live_server.url}/account/whoami/")
    assert "/accounts/login/" in page.url
    assert not SocialAccount.objects.filter(user=existing).exists()
    assert User.objects.filter(email="pat@corp.example").count() == 1

    # The owner signs in with the password and connects the provider.
    sign_in(page, live_server.url, "pat@corp.example")
    page.goto(f"{live_server.url}/accounts/3rdparty/")
    page.get_by_role("button", name=f"Connect {NAME}").click()
    page.wait_for_url(re.compile(r".*/accounts/(oidc|reauthenticate).*"), timeout=5000)
    if "/accounts/reauthenticate/" in page.url:  # connecting asks for the password again
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    through_provider(page, "pat@corp.example")
    assert SocialAccount.objects.filter(user=existing, provider=PROVIDER_ID).exists()

    # From now on the provider signs them in.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {NAME}").click()
    through_provider(page, "pat@corp.example")
    page.goto(f"{live_server.url}/account/whoami/")
    assert "pat@corp.example" in page.content()
    assert User.objects.filter(email="pat@corp.example").count() == 1


def test_sign_up_is_limited_to_the_allowed_domains(live_server, page, sso, settings):
    settings.TRAINSHED_SIGNUP_DOMAINS = ["corp.example"]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {NAME}").click()
    through_provider(page, "someone@elsewhere.example")
    assert "Sign-up is limited to addresses at corp.example" in page.content()
    assert not User.objects.filter(email="someone@elsewhere.example").exists()
