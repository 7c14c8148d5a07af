from allauth.account.adapter import DefaultAccountAdapter

from accounts.models import normalize_email


class AccountAdapter(DefaultAccountAdapter):
    """allauth, Trainshed's way: addresses are stored in one spelling, lower case."""

    def clean_email(self, email: str) -> str:
        return normalize_email(super().clean_email(email))

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed logins count per client *and* account (allauth counts per account alone), so
        guesses from one machine never lock the owner, typing it right elsewhere, out. The per-IP
        part of the limit still holds each client back across accounts."""
        from allauth.core.internal.ratelimit import get_ip

        return f"{get_ip(request)}:{super()._get_login_attempts_cache_key(request, **credentials)}"
