"""Two-factor sign-in as Trainshed sees it: allauth.mfa's authenticators of an account."""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction

#: The kinds that are a second factor by themselves (recovery codes only back them up).
FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def has_two_factor(user) -> bool:
    """Whether `user` signs in with a second factor. One query, remembered on the user object
    for the rest of the request (a request builds a fresh one)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if "_trainshed_two_factor" not in user.__dict__:
        user.__dict__["_trainshed_two_factor"] = Authenticator.objects.filter(
            user_id=user.pk, type__in=FACTORS).exists()
    return user.__dict__["_trainshed_two_factor"]


def users_with_two_factor(user_ids) -> set:
    """Of these account ids, the ones with two-factor sign-in (one query, for tables)."""
    return set(Authenticator.objects.filter(user_id__in=list(user_ids), type__in=FACTORS)
               .values_list("user_id", flat=True).distinct())


@transaction.atomic
def two_factor_reset(*, user, actor, reason: str = "") -> int:
    """An operator removes every authenticator of a locked-out account (TOTP, security keys,
    recovery codes): it then signs in with its password alone and may set two-factor up again.
    Recorded in the admin's history of the account. Returns how many were removed."""
    removed, _ = Authenticator.objects.filter(user_id=user.pk).delete()
    user.__dict__.pop("_trainshed_two_factor", None)
    message = f"Reset two-factor sign-in: removed {removed} authenticator(s)."
    if reason:
        message += f" Reason: {reason}"
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=[user], action_flag=CHANGE, change_message=message,
        single_object=True,
    )
    return removed


def sign_in_settings(user) -> dict:
    """For Account settings: whether two-factor is on, and the single sign-on providers."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return {"has_two_factor": has_two_factor(user), "sso_providers": [app["name"] for app in apps]}
