"""allauth's events that change what an account's API keys may do."""

from allauth.account.signals import password_reset
from django.dispatch import receiver

from accounts.api_keys import api_keys_revoke_all


@receiver(password_reset, dispatch_uid="accounts.revoke_keys_on_reset")
def revoke_keys_on_password_reset(sender, request, user, **kwargs):
    api_keys_revoke_all(user=user)
