"""API keys do not outlive a password reset, and the API keys page offers "revoke all my keys"
(for after a password change, or a lost laptop)."""

import re

import pytest
from django.urls import reverse

from accounts.api_keys import api_key_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _works(client, raw) -> bool:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_a_password_reset_revokes_every_api_key(client, mailoutbox):
    user = UserFactory(email="reset@example.com")
    _key, raw = api_key_create(user=user, name="laptop")
    _key2, raw2 = api_key_create(user=user, name="ci")
    assert _works(client, raw)
    client.post(reverse("account_reset_password"), {"email": "reset@example.com"})
    link = re.search(r"https?://[^\s]+/password/reset/key/[^\s]+", mailoutbox[-1].body).group(0)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    done = client.post(form_url, {"password1": "a-new-Passw0rd-123", "password2": "a-new-Passw0rd-123"})
    assert done.status_code == 302
    assert not _works(client, raw) and not _works(client, raw2)


def test_revoke_all_my_keys(client):
    user = UserFactory(email="many@example.com")
    other = UserFactory(email="other@example.com")
    raws = [api_key_create(user=user, name=f"k{i}")[1] for i in range(3)]
    theirs = api_key_create(user=other, name="theirs")[1]
    client.force_login(user)
    page = client.get(reverse("accounts:api-keys")).content.decode()
    assert reverse("accounts:api-keys-revoke-all") in page
    response = client.post(reverse("accounts:api-keys-revoke-all"), follow=True)
    assert "Revoked 3 keys" in response.content.decode()
    client.logout()
    assert not any(_works(client, raw) for raw in raws)
    assert _works(client, theirs)
