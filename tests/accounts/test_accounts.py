import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from accounts.services import user_create
from billing.models import BillingAccount
from projects.models import Project
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _confirm_link(message_body: str) -> str:
    line = next(word for word in message_body.split() if "/accounts/confirm-email/" in word)
    return line[line.index("/accounts/") :]


def test_signup_creates_personal_project_and_billing_account(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "new.person@example.com"
    personal = Project.objects.get(owner=user)
    assert personal.is_personal and personal.name == "Personal"
    assert BillingAccount.objects.filter(owner=user).exists()
    # E-mail verification is mandatory: the mail is sent and not yet confirmed.
    assert len(mail.outbox) == 1
    assert not EmailAddress.objects.get(user=user).verified


def test_signup_verification_link_confirms_and_logs_in(client):
    client.post(
        reverse("account_signup"),
        {"email": "v@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    link = _confirm_link(mail.outbox[0].body)
    response = client.post(link)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="v@example.com").verified
    assert client.get(reverse("projects:list")).status_code == 200


@pytest.mark.parametrize("spelling", ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.Com"])
def test_login_by_email_in_any_letter_case(client, spelling):
    UserFactory(email="alice@example.com")
    response = client.post(reverse("account_login"), {"login": spelling, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    page = client.get(reverse("home"), follow=True)
    assert page.status_code == 200
    assert "alice@example.com" in page.content.decode()


def test_duplicate_email_in_other_case_refused_at_signup(client):
    """No second account; allauth's enumeration protection answers as for a new address and
    mails the existing owner instead, so the form never reveals who has an account."""
    UserFactory(email="dup@example.com")
    response = client.post(
        reverse("account_signup"),
        {"email": "DUP@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="dup@example.com").count() == 1
    assert [m.to for m in mail.outbox] == [["dup@example.com"]]
    assert "already" in mail.outbox[0].body


def test_duplicate_email_in_other_case_refused_by_service():
    user_create(email="dup@example.com", password=PASSWORD)
    with pytest.raises(ValidationError) as exc:
        user_create(email="Dup@Example.com", password=PASSWORD)
    assert "email" in exc.value.message_dict
    assert User.objects.count() == 1


def test_every_way_of_creating_an_account_gets_personal_project(db):
    via_manager = User.objects.create_user("m@example.com", PASSWORD)
    via_super = User.objects.create_superuser("s@example.com", PASSWORD)
    via_service = user_create(email="x@example.com", password=PASSWORD)
    for user in (via_manager, via_super, via_service):
        assert Project.objects.filter(owner=user, is_personal=True).count() == 1
        assert BillingAccount.objects.filter(owner=user).count() == 1


def test_createsuperuser_command_gets_personal_project(db):
    from django.core.management import call_command

    call_command("createsuperuser", email="root@example.com", interactive=False, verbosity=0)
    root = User.objects.get(email="root@example.com")
    assert Project.objects.filter(owner=root, is_personal=True).exists()


def test_admin_add_user_gets_personal_project(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "added@example.com", "name": "", "password1": PASSWORD, "password2": PASSWORD,
         "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    added = User.objects.get(email="added@example.com")
    assert Project.objects.filter(owner=added, is_personal=True).exists()
    assert BillingAccount.objects.filter(owner=added).exists()


def test_account_is_not_created_when_personal_project_fails(monkeypatch):
    from projects import receivers

    def boom(**kwargs):
        raise RuntimeError("storage down")

    monkeypatch.setattr(receivers, "personal_project_create", boom)
    with pytest.raises(RuntimeError):
        user_create(email="half@example.com", password=PASSWORD)
    assert not User.objects.filter(email="half@example.com").exists()
    assert not BillingAccount.objects.exists()
