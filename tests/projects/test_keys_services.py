"""Keys and secrets as the services write them: validation, encryption at rest, audit, copy on
create, key rotation, the admin."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import Http404
from django.urls import reverse

from projects import keys
from projects.models import AuditEvent, Project, ProjectKey, ProjectSecret
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CANARY = "CANARY-sk-7f3a9b1c2d4e5f60"


def _raw_column(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ciphertext FROM {table}")  # noqa: S608 (a fixed table name)
        rows = cursor.fetchall()
    assert rows, f"nothing stored in {table}"
    return " ".join(bytes(r[0]).decode() if isinstance(r[0], memoryview) else str(r[0]) for r in rows)


def test_key_is_stored_encrypted_and_only_its_last4_kept_in_clear(project, owner):
    key = keys.key_set(project=project, kind="aws", public={"key_id": "AKIAEXAMPLE"},
                       secret=CANARY, actor=owner)
    assert key.last4 == "5f60"
    assert key.public == {"key_id": "AKIAEXAMPLE"}
    raw = _raw_column("projects_projectkey")
    assert CANARY not in raw and CANARY[:-4] not in raw
    assert raw.startswith("gAAAA")  # a Fernet token


def test_secret_value_is_stored_encrypted(project, owner):
    keys.secret_set(project=project, name="WANDB_API_KEY", value=CANARY, actor=owner)
    raw = _raw_column("projects_projectsecret")
    assert CANARY not in raw and CANARY[:-4] not in raw


def test_audit_says_what_was_set_never_the_value(project, owner):
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAEXAMPLE"}, secret=CANARY,
                 actor=owner)
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAEXAMPLE"},
                 secret=CANARY + "2", actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value=CANARY, actor=owner)
    keys.secret_remove(project=project, name="WANDB_API_KEY", actor=owner)
    keys.key_remove(project=project, kind="aws", actor=owner)
    entries = list(AuditEvent.objects.filter(project=project).order_by("id")
                   .values_list("action", "target", "before", "after"))
    actions = [(a, t) for a, t, _b, _a in entries if a.startswith(("key", "secret"))]
    assert actions == [
        ("key.set", "AWS key"), ("key.replaced", "AWS key"), ("secret.set", "WANDB_API_KEY"),
        ("secret.removed", "WANDB_API_KEY"), ("key.removed", "AWS key"),
    ]
    assert CANARY not in repr(entries)


def test_replacing_with_an_empty_secret_keeps_the_stored_one(project, owner, tmp_path):
    keys.key_set(project=project, kind="kaggle", public={"username": "olivia"}, secret=CANARY,
                 actor=owner)
    keys.key_set(project=project, kind="kaggle", public={"username": "olivia2"}, secret="",
                 actor=owner)
    env = keys.job_environment(project=project, workspace=tmp_path)
    assert env["KAGGLE_USERNAME"] == "olivia2" and env["KAGGLE_KEY"] == CANARY


@pytest.mark.parametrize(
    ("kind", "public", "secret", "field", "message"),
    [
        ("aws", {"key_id": ""}, "abc12345", "key_id", "Enter the access key id."),
        ("aws", {"key_id": "AKIA X"}, "abc12345", "key_id", "Access key ID cannot contain spaces."),
        ("aws", {"key_id": "AKIA"}, "", "secret", "Enter the secret access key."),
        ("azure", {"client_id": "c", "tenant_id": ""}, "s3cret", "tenant_id", "Enter the tenant id."),
        ("gcp", {}, "not json", "secret", "Paste the whole service-account key file"),
        ("huggingface", {}, "   ", "secret", "Enter the access token."),
    ],
)
def test_bad_key_input_names_the_field(project, owner, kind, public, secret, field, message):
    with pytest.raises(ValidationError) as exc:
        keys.key_set(project=project, kind=kind, public=public, secret=secret, actor=owner)
    assert message in exc.value.message_dict[field][0]
    assert not ProjectKey.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name"),
        ("lower_case", "Use uppercase letters, digits and underscores"),
        ("1ST", "not starting with a digit"),
        ("WITH-DASH", "Use uppercase letters"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY is reserved"),
        ("HF_TOKEN", "is reserved"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "is reserved"),
        ("TRAINSHED_PROJECT", "is reserved"),
        ("CUDA_VISIBLE_DEVICES", "is reserved"),
        ("PATH", "is reserved"),
        ("HOME", "is reserved"),
    ],
)
def test_bad_secret_names_are_refused_with_a_reason(project, owner, name, message):
    with pytest.raises(ValidationError) as exc:
        keys.secret_set(project=project, name=name, value="value-1234", actor=owner)
    assert message in exc.value.message_dict["name"][0]
    assert not ProjectSecret.objects.exists()


def test_only_the_owner_may_write_keys(project, owner, member_all):
    with pytest.raises(Http404):
        keys.key_set(project=project, kind="aws", public={"key_id": "A"}, secret="x" * 10,
                     actor=member_all)
    with pytest.raises(Http404):
        keys.secret_set(project=project, name="X", value="y", actor=member_all)
    with pytest.raises(Http404):
        keys.keys_copy_from_personal(project=project, actor=member_all)
    assert not ProjectKey.objects.exists() and not ProjectSecret.objects.exists()


def test_personal_project_has_keys_too(owner, tmp_path):
    personal = Project.objects.personal_of(owner)
    keys.key_set(project=personal, kind="huggingface", public={}, secret=CANARY, actor=owner)
    assert keys.job_environment(project=personal, workspace=tmp_path) == {"HF_TOKEN": CANARY}


def test_copy_from_personal_copies_now_and_stays_independent(owner, tmp_path):
    personal = Project.objects.personal_of(owner)
    keys.key_set(project=personal, kind="aws", public={"key_id": "AKIAPERSONAL"}, secret=CANARY,
                 actor=owner)
    keys.secret_set(project=personal, name="WANDB_API_KEY", value="wandb-1234567", actor=owner)
    project = ProjectFactory(owner=owner, name="New Work")

    copied = keys.keys_copy_from_personal(project=project, actor=owner)

    assert copied == {"keys": ["aws"], "secrets": ["WANDB_API_KEY"]}
    env = keys.job_environment(project=project, workspace=tmp_path)
    assert env == {"AWS_ACCESS_KEY_ID": "AKIAPERSONAL", "AWS_SECRET_ACCESS_KEY": CANARY,
                   "WANDB_API_KEY": "wandb-1234567"}
    # Later changes on either side stay on that side.
    keys.key_set(project=personal, kind="aws", public={"key_id": "AKIANEW"}, secret="new-secret-99",
                 actor=owner)
    keys.secret_remove(project=project, name="WANDB_API_KEY", actor=owner)
    assert keys.job_environment(project=project, workspace=tmp_path)["AWS_SECRET_ACCESS_KEY"] == CANARY
    assert "WANDB_API_KEY" in keys.job_environment(project=personal, workspace=tmp_path)
    entry = AuditEvent.objects.get(project=project, action="keys.copied_from_personal")
    assert entry.after == {"keys": ["aws"], "secrets": ["WANDB_API_KEY"]}
    assert CANARY not in repr(entry.__dict__)


def test_copy_without_secrets(owner, tmp_path):
    personal = Project.objects.personal_of(owner)
    keys.secret_set(project=personal, name="WANDB_API_KEY", value="wandb-1234567", actor=owner)
    project = ProjectFactory(owner=owner, name="Keys Only")
    assert keys.keys_copy_from_personal(project=project, actor=owner, include_secrets=False) == {
        "keys": [], "secrets": []}
    assert not ProjectSecret.objects.filter(project=project).exists()


def test_rotation_re_encrypts_everything_with_the_new_first_key(settings, project, owner, tmp_path):
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TRAINSHED_FERNET_KEYS = [k1]
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAROT"}, secret=CANARY, actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value="wandb-1234567", actor=owner)

    settings.TRAINSHED_FERNET_KEYS = [k2, k1]
    call_command("rotate_fernet_keys")
    settings.TRAINSHED_FERNET_KEYS = [k2]  # k1 dropped

    env = keys.job_environment(project=project, workspace=tmp_path)
    assert env["AWS_SECRET_ACCESS_KEY"] == CANARY and env["WANDB_API_KEY"] == "wandb-1234567"
    token = ProjectKey.objects.get(project=project).ciphertext
    assert Fernet(k2.encode()).decrypt(token.encode()).decode() == CANARY


def test_rotation_with_a_missing_key_changes_nothing(settings, project, owner):
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TRAINSHED_FERNET_KEYS = [k1]
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAROT"}, secret=CANARY, actor=owner)
    before = ProjectKey.objects.get().ciphertext
    settings.TRAINSHED_FERNET_KEYS = [k2]  # k1 dropped too early
    with pytest.raises(CommandError, match="cannot be decrypted with any configured key"):
        call_command("rotate_fernet_keys")
    assert ProjectKey.objects.get().ciphertext == before


def test_admin_lists_keys_read_only_without_values(client, project, owner):
    from accounts.models import User

    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAADMIN"}, secret=CANARY, actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value=CANARY, actor=owner)
    operator = User.objects.create_superuser(email="ops@example.com", password="x-ops-password-1")
    client.force_login(operator)
    key = ProjectKey.objects.get()
    secret = ProjectSecret.objects.get()
    pages = [
        reverse("admin:projects_projectkey_changelist"),
        reverse("admin:projects_projectkey_change", args=[key.pk]),
        reverse("admin:projects_projectsecret_changelist"),
        reverse("admin:projects_projectsecret_change", args=[secret.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert CANARY not in html and key.ciphertext not in html and secret.ciphertext not in html
    listing = client.get(pages[0]).content.decode()
    assert "AKIAADMIN" in listing and "5f60" in listing
    assert client.get(reverse("admin:projects_projectkey_add")).status_code == 403
