"""Sensitive actions ask the person to prove it is them again (allauth's reauthentication): the
password or a second factor, when their last authentication in this session (signing in, or
re-authenticating) is older than ACCOUNT_REAUTHENTICATION_TIMEOUT seconds.

A view calls `require_recent_sign_in(request)` after its access check (so a refusal stays a
404/403 and no one is asked for a password for something they may not do). allauth's middleware
then suspends the POST, shows its reauthentication page and replays the POST afterwards. An htmx
request cannot be replayed into its fragment, so the whole page goes there instead and comes back
to the page the person was on.
"""

import time
from urllib.parse import urlencode

from allauth.account import app_settings
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse, ReauthenticationRequired
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect


def _recently_authenticated(request) -> bool:
    records = get_authentication_records(request, request.user)
    return bool(records) and time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT


def require_recent_sign_in(request, *, back: str | None = None) -> None:
    """Raise so that allauth asks for the password or a second factor, unless the person
    authenticated recently. Reads (GET, HEAD) pass.

    With `back` (a URL), the POST is not kept to be replayed: the person returns to `back` and
    sends it again. For forms that carry a secret, which must not be written to the session."""
    if request.method in ("GET", "HEAD") or _recently_authenticated(request):
        return
    methods = get_adapter().get_reauthentication_methods(request.user)
    if not methods:
        # No password and no second factor (an account from single sign-on): nothing to re-enter
        # here; its proof is the identity provider's sign-in.
        return
    htmx = getattr(request, "htmx", False)
    if back is None and not htmx:
        raise ReauthenticationRequired()
    if htmx:
        back = back or request.htmx.current_url_abs_path or "/"
    url = f"{methods[0]['url']}?{urlencode({REDIRECT_FIELD_NAME: back})}"
    raise ImmediateHttpResponse(HttpResponseClientRedirect(url) if htmx else HttpResponseRedirect(url))
