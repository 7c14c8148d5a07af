"""Failure modes a person can meet: the database down, too many failed logins."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory

ROOT = settings.BASE_DIR  # the repository, wherever this module sits under tests/

UNREACHABLE_SCRIPT = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.test import Client
c = Client(raise_request_exception=False)
r = c.post("/accounts/login/", {"login": "a@example.com", "password": "x"})
print(r.status_code)
print(r.content.decode())
"""


def test_unreachable_database_gives_a_plain_503_page(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL="postgres://nobody@127.0.0.1:1/nowhere", TRAINSHED_VAR_DIR=str(tmp_path),
               ALLOWED_HOSTS="testserver")
    result = subprocess.run([sys.executable, "-c", UNREACHABLE_SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert lines and lines[0] == "503", result.stdout + result.stderr
    body = "\n".join(lines[1:])
    assert "temporarily unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body


@pytest.mark.django_db
def test_repeated_failed_logins_answer_429(client):
    UserFactory(email="victim@example.com")
    statuses = [
        client.post(reverse("account_login"), {"login": "victim@example.com", "password": "wrong"}).status_code
        for _ in range(8)
    ]
    assert statuses[0] == 200
    assert 429 in statuses
    # Even the right password is refused while the limit holds.
    response = client.post(reverse("account_login"), {"login": "victim@example.com", "password": "correct horse battery staple"})
    assert response.status_code == 429
