"""Third-party keys, secrets and GPU types over the REST API: keys are the owner's alone (404 for
everyone else, even a member with "all"), and no answer ever holds a secret."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.api_keys import api_key_create
from billing import services as billing_services
from projects import crypto
from projects.models import AuditEvent, ProjectKey, ProjectSecret
from tests.factories import ProjectFactory, UserFactory, make_node

API = "/api/v1"
CANARY = "canary-SECRET-do-not-leak-7f3a"
CANARY_VALUE = "wandb-CANARY-value-91c2"


@pytest.fixture
def call(client):
    def call(user, method, path, body=None):
        raw = api_key_create(user=user, name="t")[1]
        return client.generic(method, f"{API}{path}", data=json.dumps(body) if body is not None else "",
                              content_type="application/json", headers={"Authorization": f"Bearer {raw}"})

    return call


def test_keys_and_secrets_never_answer_with_the_secret(call, owner, project):
    base = f"/projects/{project.pk}"
    responses = [
        call(owner, "PUT", f"{base}/keys/huggingface", {"secret": CANARY}),
        call(owner, "PUT", f"{base}/keys/aws", {"key_id": "AKIAEXAMPLE", "secret": CANARY}),
        call(owner, "PUT", f"{base}/keys/aws", {"key_id": "AKIANEW"}),  # keeps the stored secret
        call(owner, "GET", f"{base}/keys"),
        call(owner, "PUT", f"{base}/secrets/WANDB_API_KEY", {"value": CANARY_VALUE}),
        call(owner, "PUT", f"{base}/secrets/WANDB_API_KEY", {"value": CANARY_VALUE + "x"}),
        call(owner, "GET", f"{base}/secrets"),
        call(owner, "PUT", f"{base}/keys/gcp", {"secret": CANARY}),  # refused: not a key file
    ]
    assert [r.status_code for r in responses] == [201, 201, 200, 200, 201, 200, 200, 400]
    for response in responses:
        text = response.content.decode()
        assert CANARY not in text and CANARY_VALUE not in text
        assert "SECRET-do" not in text and "CANARY" not in text

    keys = responses[3].json()["items"]
    assert [(k["type"], k["key_id"], k["last4"]) for k in keys] == [
        ("aws", "AKIANEW", "7f3a"), ("huggingface", None, "7f3a")]
    assert keys[0]["public"] == {"key_id": "AKIANEW"}
    assert responses[6].json()["items"][0] | {"updated_at": None} == {
        "name": "WANDB_API_KEY", "last4": "1c2x", "updated_at": None}
    stored = ProjectKey.objects.get(project=project, kind="aws")
    assert crypto.decrypt(stored.ciphertext) == CANARY and CANARY not in stored.ciphertext
    assert crypto.decrypt(ProjectSecret.objects.get(project=project).ciphertext) == CANARY_VALUE + "x"
    assert AuditEvent.objects.filter(project=project, action="key.set").count() == 2


def test_members_even_all_and_outsiders_get_404(call, project, owner, member_all, outsider):
    call(owner, "PUT", f"/projects/{project.pk}/keys/huggingface", {"secret": CANARY})
    call(owner, "PUT", f"/projects/{project.pk}/secrets/TOKEN", {"value": CANARY_VALUE})
    for person in (member_all, outsider):
        for method, path, body in (
            ("GET", "keys", None), ("PUT", "keys/aws", {"key_id": "A", "secret": "s" * 12}),
            ("DELETE", "keys/huggingface", None), ("GET", "secrets", None),
            ("PUT", "secrets/OTHER", {"value": "v" * 12}), ("DELETE", "secrets/TOKEN", None),
        ):
            response = call(person, method, f"/projects/{project.pk}/{path}", body)
            assert response.status_code == 404, (person.email, method, path)
            assert response.json()["detail"] == "Not found."
    assert ProjectKey.objects.filter(project=project).count() == 1
    assert ProjectSecret.objects.filter(project=project).count() == 1


def test_bad_key_input_names_the_field(call, owner, project):
    base = f"/projects/{project.pk}"
    unknown = call(owner, "PUT", f"{base}/keys/dropbox", {"secret": "x" * 10})
    assert unknown.status_code == 404 and "Unknown key type" in unknown.json()["detail"]
    missing = call(owner, "PUT", f"{base}/keys/aws", {"secret": "x" * 10})
    assert missing.status_code == 400 and missing.json()["field"] == "key_id"
    foreign = call(owner, "PUT", f"{base}/keys/huggingface", {"username": "me", "secret": "x" * 10})
    assert foreign.status_code == 400 and foreign.json()["field"] == "username"
    reserved = call(owner, "PUT", f"{base}/secrets/AWS_ACCESS_KEY_ID", {"value": "x" * 10})
    assert reserved.status_code == 400 and reserved.json()["field"] == "name"
    assert call(owner, "DELETE", f"{base}/keys/aws").status_code == 404
    assert call(owner, "DELETE", f"{base}/secrets/lower-case").status_code == 404
    call(owner, "PUT", f"{base}/secrets/TOKEN", {"value": "x" * 10})
    assert call(owner, "DELETE", f"{base}/secrets/TOKEN").status_code == 204
    assert not ProjectSecret.objects.filter(project=project).exists()


def test_gpu_types_list_and_owner_refresh(call, owner, project, member_read):
    # The project's list is as of its last refresh (at creation: no nodes yet).
    make_node(gpu_type="a100")
    make_node(gpu_type="h100")
    assert call(member_read, "GET", f"/projects/{project.pk}/gpu-types").json()["items"] == []
    assert call(member_read, "POST", f"/projects/{project.pk}/gpu-types/refresh").status_code == 403
    refreshed = call(owner, "POST", f"/projects/{project.pk}/gpu-types/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["refreshed_at"]
    assert [t["slug"] for t in refreshed.json()["gpu_types"]] == ["a100", "h100"]
    listed = call(member_read, "GET", f"/projects/{project.pk}/gpu-types").json()["items"]
    assert [t["slug"] for t in listed] == ["a100", "h100"]
    assert set(listed[0]) == {"slug", "name", "memory_gb", "credits_per_gpu_hour"}
    # A Personal project's list is always current.
    personal = owner.owned_projects.get(is_personal=True)
    assert len(call(owner, "GET", f"/projects/{personal.pk}/gpu-types").json()["items"]) == 2


def _charge(project, amount, key):
    end = timezone.now()
    billing_services.charge_record(
        project=project, kind="compute", resource="job:x", resource_name="train",
        quantity=Decimal("1"), unit="gpu_hour", unit_price=Decimal(amount), amount=Decimal(amount),
        period_start=end - timedelta(minutes=1), period_end=end, created_by=None, key=key,
    )


def test_billing_shows_only_the_callers_own_account(call, client, owner, project, member_all):
    _charge(project, "12.50", "a")
    other = ProjectFactory(owner=UserFactory(email="stranger@example.com"), name="Stranger's")
    _charge(other, "99.99", "b")

    mine = call(owner, "GET", "/billing").json()
    assert mine["email"] == "owner@example.com"
    assert mine["balance"] == "987.50" and mine["charges_to"] is None
    assert mine["this_month"]["total"] == "12.50"
    assert mine["this_month"]["by_project"] == [{
        "project_id": str(project.pk), "name": "Vision Research", "compute": "12.50",
        "storage": "0.00", "total": "12.50"}]
    text = json.dumps(mine)
    assert "Stranger" not in text and "99.99" not in text

    # A member who caused nothing of their own sees their own untouched account.
    theirs = call(member_all, "GET", "/billing").json()
    assert theirs["balance"] == "1000.00" and theirs["this_month"]["by_project"] == []
    limited = api_key_create(user=owner, name="one project", project=project)[1]
    refused = client.get(f"{API}/billing", headers={"Authorization": f"Bearer {limited}"})
    assert refused.status_code == 403 and "limited to one project" in refused.json()["detail"]
