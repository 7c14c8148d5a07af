"""The server settings every benchmark runs with: PostgreSQL, DEBUG off, no rate limits, no mail."""

from __future__ import annotations

from pathlib import Path


def server_env(db: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a benchmark's Django (gunicorn, commands): database `db`, files in `var_dir`."""
    return {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "TRAINSHED_FERNET_KEYS": "ZmFrZS1iZW5jaC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
        "TRAINSHED_VAR_DIR": str(var_dir),
        "TRAINSHED_RATE_LIMITS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",  # seeds' notices mail nobody
        **extra,
    }
