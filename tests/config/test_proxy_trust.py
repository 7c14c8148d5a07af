"""X-Forwarded-Proto is trusted only when the operator says the proxy sets it
(TRAINSHED_TRUST_X_FORWARDED_PROTO): otherwise any client could claim https."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ASK = ("from django.test import RequestFactory; "
       "r = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https', HTTP_HOST='trainshed.example.com'); "
       "print('SECURE=' + str(r.is_secure()))")


def _is_secure(tmp_path, **extra) -> bool:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TRAINSHED_TRUST_X_FORWARDED_PROTO"}}
    env.update(DEBUG="0", SECRET_KEY="p" * 60, ALLOWED_HOSTS="trainshed.example.com",
               TRAINSHED_FERNET_KEYS=Fernet.generate_key().decode(), TRAINSHED_VAR_DIR=str(tmp_path), **extra)
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", ASK], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout
    return "SECURE=True" in out


def test_x_forwarded_proto_is_not_trusted_by_default(tmp_path):
    assert _is_secure(tmp_path) is False


def test_x_forwarded_proto_is_trusted_when_the_operator_says_so(tmp_path):
    assert _is_secure(tmp_path, TRAINSHED_TRUST_X_FORWARDED_PROTO="1") is True
