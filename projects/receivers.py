from allauth.account.signals import email_confirmed, user_signed_up
from allauth.socialaccount.signals import social_account_added
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.signals import account_created
from projects.middleware import SESSION_KEY
from projects.models import LastProject
from projects.services import accept_invitations_for_verified, invitations_accept_for, personal_project_create


@receiver(account_created, dispatch_uid="projects.personal_project")
def create_personal_project(sender, user, **kwargs):
    personal_project_create(owner=user)


@receiver(email_confirmed, dispatch_uid="projects.accept_invitations")
def accept_invitations(sender, request, email_address, **kwargs):
    invitations_accept_for(user=email_address.user, email=email_address.email)


# Single sign-on: the identity provider verified the address, so no confirmation mail is sent and
# `email_confirmed` never fires; invitations to that address are accepted here instead.
@receiver(user_signed_up, dispatch_uid="projects.accept_invitations_sso_signup")
def accept_invitations_on_sso_signup(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        accept_invitations_for_verified(user=user)


@receiver(social_account_added, dispatch_uid="projects.accept_invitations_sso_connect")
def accept_invitations_on_sso_connect(sender, request, sociallogin, **kwargs):
    accept_invitations_for_verified(user=sociallogin.user)


# The active project survives signing out and in: the remembered one goes back into the new
# session; the middleware checks access on it like any session choice (and forgets it if gone).
@receiver(user_logged_in, dispatch_uid="projects.restore_last_project")
def restore_last_project(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    project_id = LastProject.objects.filter(user=user).values_list("project_id", flat=True).first()
    if project_id is not None:
        request.session[SESSION_KEY] = str(project_id)
