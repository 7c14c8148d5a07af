from django.dispatch import receiver

from accounts.signals import account_created
from billing.services import billing_account_create


@receiver(account_created, dispatch_uid="billing.billing_account")
def create_billing_account(sender, user, **kwargs):
    billing_account_create(owner=user)
