"""The API Keys page and the key lifecycle: shown once, stored hashed, last use, revoke, expiry."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.api_keys import api_key_authenticate, api_key_create
from accounts.models import ApiKey
from tests.factories import ProjectFactory


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def _bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def test_create_shows_the_key_once_and_stores_only_its_hash(signed_in, owner):
    response = signed_in.post(reverse("accounts:api-keys"), {"name": "Laptop", "expires_in": "30"})
    assert response.status_code == 201
    raw = response.context["raw_key"]
    assert raw.startswith("ts_") and raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(user=owner)
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (key.prefix, key.key_hash, key.name) and raw.startswith(key.prefix)
    assert timedelta(days=29) < key.expires_at - timezone.now() <= timedelta(days=30)
    page = signed_in.get(reverse("accounts:api-keys")).content.decode()
    assert raw not in page and f"{key.prefix}…" in page and "Laptop" in page


def test_last_used_is_shown_and_revoke_makes_the_key_answer_401(signed_in, owner):
    key, raw = api_key_create(user=owner, name="CI")
    assert signed_in.get("/api/v1/me", headers=_bearer(raw)).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    row = signed_in.get(reverse("accounts:api-keys")).content.decode().split(f'id="key-{key.pk}"')[1]
    assert "<td>now</td>" in row.split("</tr>")[0]
    signed_in.post(reverse("accounts:api-key-revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.status == "revoked"
    assert signed_in.get("/api/v1/me", headers=_bearer(raw)).status_code == 401


def test_someone_elses_key_cannot_be_revoked(client, owner, outsider):
    key, _raw = api_key_create(user=owner, name="Mine")
    client.force_login(outsider)
    assert client.post(reverse("accounts:api-key-revoke", args=[key.pk])).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_expired_key_answers_401(client, owner):
    key, raw = api_key_create(user=owner, name="Short")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/projects", headers=_bearer(raw))
    assert response.status_code == 401
    assert response.json()["detail"] == "Missing, invalid, revoked or expired API key."


def test_limits_are_chosen_on_the_page_among_visible_projects(signed_in, owner, project, outsider):
    hidden = ProjectFactory(owner=outsider, name="Hidden")
    refused = signed_in.post(reverse("accounts:api-keys"), {"name": "x", "project": hidden.pk})
    assert refused.status_code == 400 and not ApiKey.objects.exists()
    made = signed_in.post(reverse("accounts:api-keys"),
                          {"name": "Vision RO", "project": project.pk, "read_only": "on"})
    raw = made.context["raw_key"]
    key = ApiKey.objects.get()
    assert (key.project, key.read_only) == (project, True)
    assert signed_in.get(f"/api/v1/projects/{project.pk}", headers=_bearer(raw)).status_code == 200
    write = signed_in.patch(f"/api/v1/projects/{project.pk}", '{"name": "n"}',
                            content_type="application/json", headers=_bearer(raw))
    assert write.status_code == 403 and write.json()["detail"] == "This API key is read-only."


def test_an_inactive_account_key_does_not_authenticate(owner):
    _key, raw = api_key_create(user=owner, name="k")
    owner.is_active = False
    owner.save()
    assert api_key_authenticate(raw=raw) is None
    assert api_key_authenticate(raw="not-ours") is None


def test_names_and_expiry_are_validated(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as blank:
        api_key_create(user=owner, name="  ")
    assert "name" in blank.value.message_dict
    with pytest.raises(ValidationError):
        api_key_create(user=owner, name="old", expires_at=timezone.now() - timedelta(days=1))
