"""Two-factor sign-in (allauth.mfa): an authenticator app (TOTP, codes computed here with pyotp),
recovery codes (each works once), asking again before sensitive actions, and what operators get
(the admin's column and reset, `createuser --totp`, `doctor`)."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ApiKey, User
from accounts.services import user_create
from tests.totp import totp_code

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(db):
    return user_create(email="pat@example.com", password=PASSWORD, verified=True)


def sign_in(client, email="pat@example.com", password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def reauthenticate(client, password=PASSWORD, url=None):
    return client.post(url or reverse("account_reauthenticate"), {"password": password}, follow=True)


def turn_on_totp(client) -> str:
    """Through the pages, as a person does: returns the secret the page showed."""
    response = client.get(reverse("mfa_activate_totp"))
    if response.status_code == 302:  # changing two-factor asks for the password again first
        assert response["Location"].startswith(reverse("account_reauthenticate"))
        reauthenticate(client)
        response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    page = response.content.decode()
    secret = response.context["form"].secret
    assert secret in page  # the secret as text, for typing it in
    assert 'src="data:image/svg+xml;base64,' in page  # and as a QR code
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    cache.clear()  # a code is accepted once; the tests sign in again within the same 30 seconds
    return secret


@pytest.mark.django_db
def test_account_settings_link_to_two_factor_and_say_it_is_off(client, person):
    client.force_login(person)
    page = client.get(reverse("accounts:settings")).content.decode()
    assert reverse("mfa_index") in page
    assert "Two-factor sign-in" in page and "off" in page


@pytest.mark.django_db
def test_totp_turned_on_then_sign_in_asks_for_the_code(client, person):
    assert sign_in(client).status_code == 302
    secret = turn_on_totp(client)
    assert Authenticator.objects.filter(user=person, type="totp").exists()
    assert "<strong>on</strong>" in client.get(reverse("accounts:settings")).content.decode()

    client.post(reverse("account_logout"))
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    # Not signed in yet: the password alone is not enough.
    assert client.get(reverse("accounts:whoami")).status_code == 302
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert person.email in client.get(reverse("accounts:whoami")).content.decode()


@pytest.mark.django_db
def test_recovery_codes_each_work_once(client, person):
    sign_in(client)
    turn_on_totp(client)
    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 200
    codes = response.context["unused_codes"]
    assert len(codes) == 10 and codes[0] in response.content.decode()
    download = client.get(reverse("mfa_download_recovery_codes"))
    assert codes[0] in download.content.decode()

    client.post(reverse("account_logout"))
    sign_in(client)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("accounts:whoami")).status_code == 200

    client.post(reverse("account_logout"))
    sign_in(client)
    again = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert again.status_code == 200 and "Incorrect code" in again.content.decode()
    assert client.get(reverse("accounts:whoami")).status_code == 302
    assert client.post(reverse("mfa_authenticate"), {"code": codes[1]}).status_code == 302


@pytest.mark.django_db
def test_regenerated_recovery_codes_replace_the_old_ones(client, person):
    sign_in(client)
    turn_on_totp(client)
    old = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    assert client.post(reverse("mfa_generate_recovery_codes")).status_code == 302
    new = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    assert set(old).isdisjoint(new)
    client.post(reverse("account_logout"))
    sign_in(client)
    assert client.post(reverse("mfa_authenticate"), {"code": old[0]}).status_code == 200


@pytest.mark.django_db
def test_turning_two_factor_off_asks_for_the_password_again(client, person):
    sign_in(client)
    secret = turn_on_totp(client)
    session = client.session  # the re-authentication is older than the timeout
    for record in session["account_authentication_methods"]:
        record["at"] = time.time() - 3600
    session.save()
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert Authenticator.objects.filter(user=person, type="totp").exists()
    # With two-factor on, the second factor is offered as well as the password.
    page = client.get(reverse("account_reauthenticate")).content.decode()
    assert reverse("mfa_reauthenticate") in page
    client.post(reverse("mfa_reauthenticate"), {"code": totp_code(secret)})
    client.post(reverse("mfa_deactivate_totp"))
    assert not Authenticator.objects.filter(user=person, type="totp").exists()


def _age_sign_in(client, seconds=3600):
    session = client.session
    for record in session["account_authentication_methods"]:
        record["at"] = time.time() - seconds
    session.save()


@pytest.mark.django_db
def test_creating_an_api_key_asks_again_when_the_sign_in_is_old(client, person):
    sign_in(client)
    # Just signed in: no second asking.
    assert client.post(reverse("accounts:api-keys"), {"name": "fresh"}).status_code == 201
    _age_sign_in(client)
    response = client.post(reverse("accounts:api-keys"), {"name": "CLI"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiKey.objects.filter(name="CLI").exists()
    wrong = client.post(response["Location"], {"password": "nope"})
    assert wrong.status_code == 200 and not ApiKey.objects.filter(name="CLI").exists()
    # The right password: allauth replays the suspended form, and the key is created.
    page = reauthenticate(client, url=response["Location"])
    assert ApiKey.objects.filter(user=person, name="CLI").exists()
    assert "ts_" in page.content.decode()


@pytest.mark.django_db
def test_deleting_a_project_and_changing_the_payer_ask_again(client, person):
    from projects.services import project_create

    project = project_create(owner=person, name="Doomed")
    sign_in(client)
    _age_sign_in(client)
    url = reverse("projects:delete", kwargs={"project_id": project.pk})
    assert client.get(url).status_code == 200  # reading the confirmation page does not ask
    response = client.post(url, {"confirm": "Doomed", "name": "Doomed"})
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert type(project).objects.filter(pk=project.pk).exists()
    response = client.post(reverse("billing:charge-to"), {"charge_to": ""})
    assert response["Location"].startswith(reverse("account_reauthenticate"))


@pytest.mark.django_db
def test_setting_a_key_asks_again_without_keeping_the_secret(client, person):
    from projects.services import project_create

    project = project_create(owner=person, name="Keys")
    sign_in(client)
    _age_sign_in(client)
    url = reverse("projects:secret-set", kwargs={"project_id": project.pk})
    response = client.post(url, {"name": "TOKEN", "value": "s3cr3t-value"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert "s3cr3t-value" not in str(dict(client.session))
    htmx = client.post(url, {"name": "TOKEN", "value": "s3cr3t-value"}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith(reverse("account_reauthenticate"))


# ---- operators ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_shows_two_factor_and_resets_it_audited(client, person):
    operator = user_create(email="ops@example.com", password=PASSWORD, verified=True,
                           is_staff=True, is_superuser=True)
    Authenticator.objects.create(user=person, type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
    client.force_login(operator)
    changelist = reverse("admin:accounts_user_changelist")
    with_it = client.get(changelist + "?two_factor=on").content.decode()
    assert "pat@example.com" in with_it and "ops@example.com" not in with_it
    response = client.post(changelist, {"action": "reset_two_factor", "index": 0, "_selected_action": [person.pk]},
                           follow=True)
    assert not Authenticator.objects.filter(user=person).exists(), response.content.decode()[-6000:]
    shown = [str(m) for m in response.context["messages"]]
    assert "pat@example.com: two-factor sign-in reset (1 removed)." in shown, shown
    entry = LogEntry.objects.get(object_id=str(person.pk))
    assert entry.user == operator and "Reset two-factor sign-in" in entry.change_message


@pytest.mark.django_db
def test_createuser_with_totp_prints_a_working_secret_and_recovery_codes(client, capsys):
    call_command("createuser", "lead@example.com", "--password", PASSWORD, "--totp")
    out = capsys.readouterr().out
    secret = re.search(r"Authenticator secret: (\w+)", out).group(1)
    assert "otpauth://totp/" in out and "Recovery codes" in out
    user = User.objects.get(email="lead@example.com")
    assert user.owned_projects.filter(is_personal=True).exists()
    sign_in(client, "lead@example.com")
    assert client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}).status_code == 302
    assert client.get(reverse("accounts:whoami")).status_code == 200


@pytest.mark.django_db
def test_createuser_without_totp_says_two_factor_is_off(capsys):
    call_command("createuser", "plain@example.com")
    assert "Two-factor sign-in: off" in capsys.readouterr().out


@pytest.mark.django_db
def test_doctor_reports_sign_in(capsys, settings):
    from config.management.commands.doctor import checks

    user_create(email="staff@example.com", password=PASSWORD, is_staff=True)
    settings.DEBUG = False
    results = checks()
    assert (False, "Staff accounts without two-factor sign-in: staff@example.com (Account settings → "
            "Two-factor sign-in).") in results
    assert (True, "Single sign-on: no provider configured.") in results
    settings.TRAINSHED_PASSWORD_SIGNUP = False
    bad = [message for ok, message in checks() if not ok]
    assert any("no one can sign up" in message for message in bad)


# ---- operators' sign-up settings ---------------------------------------------------------------


@pytest.mark.django_db
def test_password_sign_up_can_be_turned_off(client, settings):
    settings.TRAINSHED_PASSWORD_SIGNUP = False
    response = client.post(reverse("account_signup"), {"email": "new@example.com", "password1": PASSWORD,
                                                        "password2": PASSWORD})
    assert "Sign Up Closed" in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()
    sign_in_page = client.get(reverse("account_login")).content.decode()
    assert f'href="{reverse("account_signup")}" role="button"' not in sign_in_page  # nor does the header


@pytest.mark.django_db
def test_sign_up_is_limited_to_the_allowed_domains(client, settings):
    settings.TRAINSHED_SIGNUP_DOMAINS = ["corp.example"]
    response = client.post(reverse("account_signup"), {"email": "new@elsewhere.example",
                                                        "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "Sign-up is limited to addresses at corp.example." in response.content.decode()
    client.post(reverse("account_signup"), {"email": "new@corp.example", "password1": PASSWORD,
                                            "password2": PASSWORD})
    assert User.objects.filter(email="new@corp.example").exists()


def test_oidc_providers_are_read_from_the_environment_and_errors_name_the_field():
    from django.core.exceptions import ImproperlyConfigured

    from config.oidc import oidc_apps

    apps = oidc_apps('[{"id": "corp", "name": "Corp SSO", "issuer": "https://id.corp.example/",'
                     ' "client_id": "trainshed", "secret": "s"}]')
    assert apps == [{"provider_id": "corp", "name": "Corp SSO", "client_id": "trainshed", "secret": "s",
                     "settings": {"server_url": "https://id.corp.example", "oauth_pkce_enabled": True,
                                  "token_auth_method": "client_secret_basic"}}]
    assert oidc_apps("") == []
    with pytest.raises(ImproperlyConfigured, match="provider 1 has no “issuer”"):
        oidc_apps('[{"id": "corp", "name": "Corp", "client_id": "x", "secret": "s"}]')
    with pytest.raises(ImproperlyConfigured, match="not valid JSON"):
        oidc_apps("[{")


@pytest.mark.django_db
def test_sign_in_page_offers_each_provider(client, settings):
    from config.oidc import oidc_apps

    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": oidc_apps(
        '[{"id": "corp", "name": "Corp SSO", "issuer": "https://id.corp.example", "client_id": "t", "secret": "s"}]')}}
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Corp SSO" in page
    assert 'href="/accounts/oidc/corp/login/?process=login"' in page
