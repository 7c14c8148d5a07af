from allauth.account.adapter import DefaultAccountAdapter

from accounts.models import normalize_email


class AccountAdapter(DefaultAccountAdapter):
    """allauth, Trainshed's way: addresses are stored in one spelling, lower case."""

    def clean_email(self, email: str) -> str:
        return normalize_email(super().clean_email(email))
