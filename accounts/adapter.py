from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError

from accounts.models import normalize_email


def signup_domain_allowed(email: str) -> bool:
    """Whether an operator's `TRAINSHED_SIGNUP_DOMAINS` lets this address sign up (empty: any)."""
    domains = settings.TRAINSHED_SIGNUP_DOMAINS
    return not domains or normalize_email(email).rpartition("@")[2] in domains


def _domains_text() -> str:
    return ", ".join(settings.TRAINSHED_SIGNUP_DOMAINS)


class AccountAdapter(DefaultAccountAdapter):
    """allauth, Trainshed's way: addresses are stored in one spelling, lower case; operators may
    turn password sign-up off (accounts then come from single sign-on only) and limit sign-up to
    some e-mail domains."""

    def clean_email(self, email: str) -> str:
        email = normalize_email(super().clean_email(email))
        if not signup_domain_allowed(email):
            raise ValidationError(f"Sign-up is limited to addresses at {_domains_text()}.")
        return email

    def is_open_for_signup(self, request) -> bool:
        return settings.TRAINSHED_PASSWORD_SIGNUP

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed logins count per client *and* account (allauth counts per account alone), so
        guesses from one machine never lock the owner, typing it right elsewhere, out. The per-IP
        part of the limit still holds each client back across accounts."""
        from allauth.core.internal.ratelimit import get_ip

        return f"{get_ip(request)}:{super()._get_login_attempts_cache_key(request, **credentials)}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-up through an identity provider: open even when password sign-up is off, within the
    allowed e-mail domains (checked on the provider's address)."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        email = sociallogin.user.email or ""
        if not signup_domain_allowed(email):
            messages.error(request, f"Sign-up is limited to addresses at {_domains_text()}.")
            return False
        return True
