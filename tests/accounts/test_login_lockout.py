"""Failed logins are limited per client and account: someone guessing an account's password from
their machine is stopped (429), while the owner who types it right from their own is not locked
out."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def _login(client, email, password, ip):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_failed_guesses_elsewhere_do_not_lock_out_the_right_password(client):
    UserFactory(email="target@example.com")
    for _ in range(6):
        _login(client, "target@example.com", "wrong-guess", ATTACKER)
    assert _login(client, "target@example.com", "wrong-again", ATTACKER).status_code == 429
    response = _login(client, "target@example.com", PASSWORD, OWNER)
    assert response.status_code == 302  # signed in


def test_the_guessing_client_stays_limited(client):
    UserFactory(email="target2@example.com")
    codes = [_login(client, "target2@example.com", f"guess-{i}", ATTACKER).status_code for i in range(7)]
    assert codes[-1] == 429
