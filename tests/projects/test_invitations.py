"""Invitation lifecycle: send, accept when that exact address is verified, expire, revoke."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from projects import access, services
from projects.models import AuditEvent, Invitation, Membership
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(project, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.member_add_by_email(
            project=project, email="Newbie@Example.com", jobs="read", datasets="all",
            models="none", actor=owner,
        )


def _sign_up_and_verify(client, email):
    client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    body = mail.outbox[-1].body
    link = next(w for w in body.split() if "/accounts/confirm-email/" in w)
    return client.post(link[link.index("/accounts/"):])


def test_invitation_is_sent_and_listed(invitation, project):
    assert invitation.email == "newbie@example.com"
    assert abs(invitation.expires_at - invitation.created_at - timedelta(days=7)) < timedelta(seconds=1)
    assert mail.outbox[0].to == ["newbie@example.com"]
    assert AuditEvent.objects.filter(project=project, action="invitation.sent").exists()


def test_verifying_the_address_at_signup_turns_invitation_into_membership(client, invitation, project):
    _sign_up_and_verify(client, "NEWBIE@example.com")
    newbie = User.objects.get(email="newbie@example.com")
    membership = Membership.objects.get(project=project, user=newbie)
    assert membership.access() == {"jobs": "read", "datasets": "all", "models": "none"}
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.accepted_by == newbie
    assert AuditEvent.objects.filter(action="invitation.accepted", target="newbie@example.com").exists()
    assert "Vision Research" in client.get(reverse("projects:list")).content.decode()


def test_signup_without_verifying_grants_nothing(client, invitation, project):
    client.post(
        reverse("account_signup"),
        {"email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    newbie = User.objects.get(email="newbie@example.com")
    assert not Membership.objects.filter(user=newbie).exists()
    assert not access.can(newbie, project)


def test_adding_and_verifying_the_address_on_an_existing_account_accepts(invitation, project):
    existing = UserFactory(email="someone@example.com")
    address = EmailAddress.objects.create(user=existing, email="newbie@example.com", verified=False)
    from allauth.account.signals import email_confirmed

    address.verified = True
    address.save()
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    assert Membership.objects.filter(project=project, user=existing).exists()


def test_a_different_address_cannot_accept(client, invitation, project):
    _sign_up_and_verify(client, "newbie2@example.com")
    other = User.objects.get(email="newbie2@example.com")
    assert not Membership.objects.filter(user=other).exists()
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_expired_invitation_does_nothing(client, invitation, project):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _sign_up_and_verify(client, "newbie@example.com")
    assert not Membership.objects.filter(project=project).exists()
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    assert AuditEvent.objects.filter(action="invitation.expired", target="newbie@example.com").exists()


def test_revoked_invitation_does_nothing(client, owner, invitation, project):
    client.force_login(owner)
    response = client.post(
        reverse("projects:invitation-revoke", args=[project.pk, invitation.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Revoked the invitation for newbie@example.com." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    client.logout()
    _sign_up_and_verify(client, "newbie@example.com")
    assert not Membership.objects.filter(project=project).exists()
    assert AuditEvent.objects.filter(action="invitation.revoked").exists()


def test_expired_invitations_leave_the_pending_list(client, owner, invitation, project):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(owner)
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "newbie@example.com" not in html.split("Audit log")[0]
