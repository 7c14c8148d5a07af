from django.dispatch import receiver

from accounts.signals import account_created
from billing.services import billing_account_create, spend_refusal
from resources.signals import spending_requested


@receiver(account_created, dispatch_uid="billing.billing_account")
def create_billing_account(sender, user, **kwargs):
    billing_account_create(owner=user)


@receiver(spending_requested, dispatch_uid="billing.spend_refusal")
def refuse_spending(sender, project, actor=None, **kwargs) -> str | None:
    return spend_refusal(project=project, actor=actor)
