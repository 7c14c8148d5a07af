"""API keys: create (the full key is returned once), authenticate, revoke. Views and the API call these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, User

KEY_PREFIX = "ts_"
DISPLAY_CHARS = 10  # "ts_" and 7 random characters: enough to tell keys apart, useless to guess
LAST_USED_RESOLUTION = timedelta(seconds=60)  # at most one write per key per minute


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    project=None,
    read_only: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns (row, full key). The full key is never stored.

    `project`, when given, must be one `user` can view (the caller passes it from the visible set:
    `accounts` does not ask the access rules itself).
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user=user, name=name, prefix=raw[:DISPLAY_CHARS], key_hash=_hash(raw),
        project=project, read_only=read_only, expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    return key, raw


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key `raw` stands for (with its active user), or None. Records the last use."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = (
        ApiKey.objects.select_related("user", "project")
        .filter(key_hash=_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if key is None or key.is_expired or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(*, key: ApiKey, actor: User) -> ApiKey:
    if key.user_id != actor.pk:
        raise ValidationError("Only the key's own account can revoke it.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_keys_revoke_all(*, user: User) -> int:
    """Revoke every key of `user` that still works; returns how many. A password reset does it
    (accounts/receivers.py): whoever had the password may have made keys."""
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_keys_of(*, user: User):
    return ApiKey.objects.filter(user=user).select_related("project")
