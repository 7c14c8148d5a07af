"""Single sign-on: the OpenID Connect providers an operator configures by environment.

`TRAINSHED_OIDC_PROVIDERS` is a JSON list, one object per provider:

    [{"id": "corp", "name": "Corp SSO", "issuer": "https://id.corp.example",
      "client_id": "trainshed", "secret": "…"}]

`id` appears in the callback URL (`/accounts/oidc/<id>/login/callback/`, which is what the
provider must allow as redirect URI); `name` is what the sign-in button says ("Sign in with
<name>"). Each becomes an app of allauth's `openid_connect` provider.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import ImproperlyConfigured

VARIABLE = "TRAINSHED_OIDC_PROVIDERS"
_REQUIRED = ("id", "name", "issuer", "client_id", "secret")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def oidc_apps(raw: str) -> list[dict]:
    """allauth's `SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]` from the variable's value.
    A wrong value stops start-up with a message naming the provider and the field."""
    if not raw.strip():
        return []
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{VARIABLE} is not valid JSON: {exc}") from exc
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ImproperlyConfigured(f"{VARIABLE} must be a JSON list of provider objects.")
    apps, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(f"{VARIABLE}: provider {number} is not a JSON object.")
        for field in _REQUIRED:
            if not str(entry.get(field) or "").strip():
                raise ImproperlyConfigured(f"{VARIABLE}: provider {number} has no “{field}”.")
        provider_id = str(entry["id"]).strip()
        if not _ID.match(provider_id):
            raise ImproperlyConfigured(
                f"{VARIABLE}: provider {number}'s “id” must be lower-case letters, digits, - or _."
            )
        if provider_id in seen:
            raise ImproperlyConfigured(f"{VARIABLE}: two providers have the id “{provider_id}”.")
        seen.add(provider_id)
        issuer = str(entry["issuer"]).strip().rstrip("/")
        if not issuer.startswith(("https://", "http://")):
            raise ImproperlyConfigured(f"{VARIABLE}: provider {number}'s “issuer” must be a URL.")
        apps.append({
            "provider_id": provider_id,
            "name": str(entry["name"]).strip(),
            "client_id": str(entry["client_id"]).strip(),
            "secret": str(entry["secret"]),
            "settings": {
                "server_url": issuer,
                "oauth_pkce_enabled": True,
                "token_auth_method": entry.get("token_auth_method", "client_secret_basic"),
            },
        })
    return apps
