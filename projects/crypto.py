"""Encryption at rest for third-party keys and project secrets.

MultiFernet over settings.TRAINSHED_FERNET_KEYS: the first key encrypts, every key decrypts, so
keys rotate by putting a new one first, running `manage.py rotate_fernet_keys`, then dropping the
old one. Nothing here ever puts a plaintext into an exception message or a log line.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class UndecryptableError(Exception):
    """A stored value none of the configured Fernet keys can decrypt (a key was dropped too early)."""


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TRAINSHED_FERNET_KEYS is empty: no key to encrypt secrets with.")
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "TRAINSHED_FERNET_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    """The MultiFernet of the current settings (read on every call, so tests may change them)."""
    return _multifernet(tuple(settings.TRAINSHED_FERNET_KEYS))


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    """The Fernet token (ASCII) for `plaintext`, made with the first key."""
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise UndecryptableError(
            "A stored secret cannot be decrypted with any key in TRAINSHED_FERNET_KEYS."
        ) from None


@sensitive_variables()
def rotate(token: str) -> str:
    """Re-encrypt a token with the first key (it must decrypt with one of the keys)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UndecryptableError(
            "A stored secret cannot be decrypted with any key in TRAINSHED_FERNET_KEYS."
        ) from None
