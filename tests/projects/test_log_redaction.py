"""Job logs are redacted when they are written, with the project's values now and every value it
held before (a replaced secret, a removed key): a retired value is kept only encrypted. Values
shorter than 6 characters are not hidden as substrings (a 1-letter secret would hide every "e"),
and the page where a secret is saved says so."""

import pytest
from django.test import Client
from django.urls import reverse

from compute import services as compute_services
from projects import keys
from projects.models import RetiredSecret
from resources.jobs import selectors, services
from resources.models import JobLogChunk
from tests.jobs_helpers import local_node, make_job, ready, seed_gpu_types

NODE_API = "/api/v1/node"
HF = "hf_old_token_value_1234567890"


@pytest.fixture(autouse=True)
def _catalogue(db):
    seed_gpu_types()


def _claimed_job(project, owner, tmp_path):
    node = local_node(tmp_path)
    token = compute_services.node_token_issue(node=node, actor=None)
    ready(project)
    job = make_job(project, owner, command="true")
    services.job_start(job=job, actor=owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.post(f"{NODE_API}/claim").status_code == 200
    return job, api


def test_a_replaced_secret_is_still_redacted_in_later_logs(project, owner, tmp_path):
    keys.secret_set(project=project, name="WANDB_API_KEY", value="old-wandb-value", actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value="new-wandb-value", actor=owner)
    job, api = _claimed_job(project, owner, tmp_path)
    api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 1, "text": "a old-wandb-value b new-wandb-value\n"},
             content_type="application/json")
    assert JobLogChunk.objects.get(job=job).text == "a *** b ***\n"  # stored redacted


def test_a_removed_keys_values_are_still_redacted(project, owner, tmp_path):
    keys.key_set(project=project, kind="huggingface", public={}, secret=HF, actor=owner)
    keys.secret_set(project=project, name="GONE", value="removed-secret-value", actor=owner)
    keys.key_remove(project=project, kind="huggingface", actor=owner)
    keys.secret_remove(project=project, name="GONE", actor=owner)
    job, api = _claimed_job(project, owner, tmp_path)
    api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 1, "text": f"{HF} removed-secret-value\n"},
             content_type="application/json")
    assert JobLogChunk.objects.get(job=job).text == "*** ***\n"
    assert selectors.job_log_tail(job=job) == "*** ***"


def test_retired_values_are_kept_encrypted_per_project(project, owner):
    from tests.factories import ProjectFactory

    keys.secret_set(project=project, name="A", value="first-value-abc", actor=owner)
    keys.secret_set(project=project, name="A", value="second-value-abc", actor=owner)
    rows = list(RetiredSecret.objects.filter(project=project))
    assert len(rows) == 1 and "first-value-abc" not in rows[0].ciphertext
    other = ProjectFactory(owner=owner, name="Other")
    assert keys.redactor(project=other)("first-value-abc") == "first-value-abc"


def test_values_shorter_than_six_characters_are_not_redacted_as_substrings(project, owner, tmp_path):
    keys.secret_set(project=project, name="LETTER", value="e", actor=owner)
    keys.secret_set(project=project, name="FIVE", value="abcde", actor=owner)
    keys.secret_set(project=project, name="SIX", value="abcdef", actor=owner)
    job, api = _claimed_job(project, owner, tmp_path)
    api.post(f"{NODE_API}/jobs/{job.pk}/log", {"seq": 1, "text": "every epoch abcde abcdef\n"},
             content_type="application/json")
    assert JobLogChunk.objects.get(job=job).text == "every epoch abcde ***\n"


def test_the_secret_form_says_short_values_are_not_hidden(client, owner, project):
    client.force_login(owner)
    page = client.get(reverse("projects:keys", kwargs={"project_id": project.pk})).content.decode()
    assert "shorter than 6 characters" in page


def test_retired_values_survive_a_key_rotation(project, owner, settings):
    from cryptography.fernet import Fernet

    keys.secret_set(project=project, name="A", value="rotated-old-value", actor=owner)
    keys.secret_set(project=project, name="A", value="rotated-new-value", actor=owner)
    new = Fernet.generate_key().decode()
    settings.TRAINSHED_FERNET_KEYS = [new, *settings.TRAINSHED_FERNET_KEYS]
    keys.keys_rotate_all()
    settings.TRAINSHED_FERNET_KEYS = [new]
    assert keys.redactor(project=project)("rotated-old-value") == "***"
