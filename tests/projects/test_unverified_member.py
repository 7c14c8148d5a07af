"""Adding the address of an account that has not verified it yet does not make it a member: it is
treated like an unknown address (an invitation), which becomes a membership only when that
address is verified."""

from allauth.account.models import EmailAddress

from projects.models import Invitation, Membership
from projects.services import invitations_accept_for, member_add_by_email
from tests.factories import UserFactory


def test_an_unverified_account_gets_an_invitation_not_a_membership(owner, project, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
    squatter = UserFactory(email="victim@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        row = member_add_by_email(project=project, email="victim@example.com", jobs="all", datasets="all",
                                  models="all", actor=owner)
    assert isinstance(row, Invitation)
    assert not Membership.objects.filter(project=project, user=squatter).exists()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["victim@example.com"]


def test_the_invitation_becomes_a_membership_once_the_address_is_verified(owner, project):
    user = UserFactory(email="later@example.com", verified=False)
    member_add_by_email(project=project, email="later@example.com", jobs="read", datasets="read",
                        models="read", actor=owner)
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True})
    invitations_accept_for(user=user, email=user.email)
    assert Membership.objects.filter(project=project, user=user, jobs="read").exists()


def test_a_verified_account_is_added_at_once(owner, project):
    user = UserFactory(email="ok@example.com")
    assert isinstance(member_add_by_email(project=project, email="ok@example.com", jobs="read",
                                          datasets="read", models="read", actor=owner), Membership)
    assert Membership.objects.filter(project=project, user=user).exists()
