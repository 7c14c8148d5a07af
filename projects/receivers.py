from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from accounts.signals import account_created
from projects.services import invitations_accept_for, personal_project_create


@receiver(account_created, dispatch_uid="projects.personal_project")
def create_personal_project(sender, user, **kwargs):
    personal_project_create(owner=user)


@receiver(email_confirmed, dispatch_uid="projects.accept_invitations")
def accept_invitations(sender, request, email_address, **kwargs):
    invitations_accept_for(user=email_address.user, email=email_address.email)
