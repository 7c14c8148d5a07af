from allauth.account.signals import email_confirmed, user_signed_up
from allauth.socialaccount.signals import social_account_added
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_created
from projects.access import access_changed
from projects.middleware import SESSION_KEY
from projects.models import Invitation, LastProject, Membership, Project, ProjectUserObjectPermission
from projects.services import (
    accept_invitations_for_verified,
    invitations_accept_for,
    members_changed,
    personal_project_create,
)


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


# Every write of a permission row, whoever makes it (services, guardian's admin, a project's
# deletion cascading), makes the account's cached permissions out of date (projects.access).
# `bulk_create` sends no signal: services._set_perms calls access_changed itself.
@receiver(post_save, sender=ProjectUserObjectPermission, dispatch_uid="projects.access_changed_save")
@receiver(post_delete, sender=ProjectUserObjectPermission, dispatch_uid="projects.access_changed_delete")
def permission_row_written(sender, instance, **kwargs):
    access_changed([instance.user_id])


# The member table is kept in the cache under its project's members_version (projects.views): every
# write of a membership or an invitation, whoever makes it (services, the admin, a cascade), and a
# member's new e-mail address make it out of date. `invitations_expire` updates rows itself.
@receiver(post_save, sender=Membership, dispatch_uid="projects.members_changed_membership_save")
@receiver(post_delete, sender=Membership, dispatch_uid="projects.members_changed_membership_delete")
@receiver(post_save, sender=Invitation, dispatch_uid="projects.members_changed_invitation_save")
@receiver(post_delete, sender=Invitation, dispatch_uid="projects.members_changed_invitation_delete")
def member_row_written(sender, instance, **kwargs):
    members_changed(Project.objects.filter(pk=instance.project_id))


@receiver(post_save, sender=User, dispatch_uid="projects.members_changed_email")
def member_email_saved(sender, instance, created, update_fields=None, **kwargs):
    if created or (update_fields is not None and "email" not in update_fields):
        return
    members_changed(Project.objects.filter(memberships__user=instance))
