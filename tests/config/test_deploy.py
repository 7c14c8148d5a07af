"""Production mode: `manage.py check --deploy` is clean, and the production-only rules hold."""

import os
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings

ROOT = settings.BASE_DIR  # the repository, wherever this module sits under tests/


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DEBUG="0",
        SECRET_KEY="p" * 20 + "-production-secret-key-for-deploy-check-0123456789",
        ALLOWED_HOSTS="trainshed.example.com",
        TRAINSHED_FERNET_KEYS=Fernet.generate_key().decode(),
    )
    env.update(extra)
    return env


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = _manage("check", "--deploy", env=_production_env(TRAINSHED_VAR_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = _production_env(TRAINSHED_VAR_DIR=str(tmp_path))
    del env["SECRET_KEY"]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_fernet_keys(tmp_path):
    env = _production_env(TRAINSHED_VAR_DIR=str(tmp_path))
    del env["TRAINSHED_FERNET_KEYS"]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "TRAINSHED_FERNET_KEYS must be set" in result.stderr


def test_collectstatic_works_in_production_mode(tmp_path):
    """Hashed, compressed static files for whitenoise: every reference in the CSS/JS resolves."""
    env = _production_env(TRAINSHED_VAR_DIR=str(tmp_path))
    result = _manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = tmp_path / "static" / "staticfiles.json"
    assert manifest.exists() and "vendor/pico/pico.min.css" in manifest.read_text()


def test_production_static_urls_are_the_manifests(tmp_path, settings):
    """`{% static %}` in production: the hashed name from WhiteNoise's manifest; a name missing
    from the manifest is an error, as in Django."""
    import json

    import pytest
    from whitenoise.storage import CompressedManifestStaticFilesStorage

    settings.DEBUG = False
    (tmp_path / "staticfiles.json").write_text(json.dumps(
        {"version": "1.1", "hash": "0", "paths": {"css/keys.css": "css/keys.0123abcd.css"}}))
    storage = CompressedManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    assert storage.url("css/keys.css") == "/static/css/keys.0123abcd.css"
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry for 'css/none.css'"):
        storage.url("css/none.css")
