"""Checks of what an owner types into a key or secret form; no value ever in a message."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from projects.keys.specs import MAX_SECRET_LENGTH, NAME_RE, RESERVED_NAMES, RESERVED_PREFIXES


@sensitive_variables()
def _clean_secret(value: str | None, *, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"Enter the {what}."})
    if len(value) > MAX_SECRET_LENGTH:
        raise ValidationError({field: f"The {what} is longer than {MAX_SECRET_LENGTH} characters."})
    if "\x00" in value:
        raise ValidationError({field: f"The {what} contains a NUL character."})
    return value


def clean_secret_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name, e.g. WANDB_API_KEY."})
    if len(name) > 128:
        raise ValidationError({"name": "A name has at most 128 characters."})
    if not NAME_RE.match(name):
        raise ValidationError(
            {"name": "Use uppercase letters, digits and underscores, not starting with a digit "
                     "(e.g. WANDB_API_KEY)."}
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise ValidationError(
            {"name": f"{name} is reserved (set by a third-party key or by Trainshed itself)."}
        )
    return name


@sensitive_variables()
def _gcp_details(secret: str) -> dict:
    try:
        data = json.loads(secret)
    except ValueError:
        data = None
    if not isinstance(data, dict) or "type" not in data:
        raise ValidationError(
            {"secret": "Paste the whole service-account key file: a JSON object with a \"type\"."}
        )
    return {
        "project_id": str(data.get("project_id") or ""),
        "private_key_id": str(data.get("private_key_id") or ""),
    }


def _last4(value: str) -> str:
    return value[-4:] if len(value) >= 8 else ""
