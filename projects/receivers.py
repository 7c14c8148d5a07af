from django.dispatch import receiver

from accounts.signals import account_created
from projects.services import personal_project_create


@receiver(account_created, dispatch_uid="projects.personal_project")
def create_personal_project(sender, user, **kwargs):
    personal_project_create(owner=user)
