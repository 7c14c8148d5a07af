"""What people see of keys and secrets: the owner's section, and nothing at all for anyone else."""

import json
import logging

import pytest
from django.core import mail
from django.urls import reverse

from projects import keys
from projects.models import AuditEvent, Project, ProjectKey, ProjectSecret
from tests.access.spec import ROLES, all_routes

pytestmark = pytest.mark.django_db

CANARY = "CANARY-sk-7f3a9b1c2d4e5f60"
SECRET_CANARY = "CANARY-secret-0a1b2c3d4e5f9876"


def _absent(html: str, *canaries: str) -> None:
    for canary in canaries:
        assert canary not in html
        assert canary[:-4] not in html  # not even all but the last 4


def _keys_url(project):
    return reverse("projects:keys", kwargs={"project_id": project.pk})


@pytest.fixture
def with_keys(project, owner):
    keys.key_set(project=project, kind="aws", public={"key_id": "AKIAOWNERVISIBLE"}, secret=CANARY,
                 actor=owner)
    keys.secret_set(project=project, name="WANDB_API_KEY", value=SECRET_CANARY, actor=owner)
    return project


# ---- the owner -----------------------------------------------------------------------------------


def test_owner_sees_key_id_and_last4_never_the_secret(client, owner, with_keys):
    client.force_login(owner)
    response = client.get(_keys_url(with_keys))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Third-party keys" in html and "AKIAOWNERVISIBLE" in html
    assert "••••5f60" in html and "••••9876" in html and "WANDB_API_KEY" in html
    assert "A member with access to jobs can read key material" in html
    for spec in keys.KEY_SPECS.values():
        assert spec.label in html
    _absent(html, CANARY, SECRET_CANARY)


def test_owner_sets_a_key_without_javascript(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "huggingface"})
    response = client.post(url, {"secret": CANARY}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == _keys_url(project)
    assert "Hugging Face key saved." in html and "••••5f60" in html
    _absent(html, CANARY)
    assert ProjectKey.objects.get(project=project).kind == "huggingface"


def test_owner_sets_a_key_with_htmx_and_gets_the_section_back(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "aws"})
    response = client.post(url, {"key_id": "AKIAHTMX", "secret": CANARY}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="keys-section"')
    assert "<html" not in html
    assert "AWS key saved." in html and "AKIAHTMX" in html and "••••5f60" in html
    _absent(html, CANARY)


def test_owner_replaces_and_removes_a_key(client, owner, with_keys):
    client.force_login(owner)
    url = reverse("projects:key-set", kwargs={"project_id": with_keys.pk, "kind": "aws"})
    html = client.post(url, {"key_id": "AKIASECOND", "secret": "replacement-secret-WXYZ"},
                       follow=True).content.decode()
    assert "AWS key replaced." in html and "••••WXYZ" in html and "AKIASECOND" in html
    remove = reverse("projects:key-remove", kwargs={"project_id": with_keys.pk, "kind": "aws"})
    html = client.post(remove, follow=True).content.decode()
    assert "AWS key removed." in html and "AKIASECOND" not in html
    assert not ProjectKey.objects.filter(project=with_keys).exists()


def test_owner_adds_replaces_and_removes_a_secret(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:secret-set", kwargs={"project_id": project.pk})
    html = client.post(url, {"name": "HF_HOME_TOKEN", "value": SECRET_CANARY}, follow=True).content.decode()
    assert "Secret HF_HOME_TOKEN saved." in html and "••••9876" in html
    html = client.post(url, {"name": "HF_HOME_TOKEN", "value": "other-value-ABCD"},
                       follow=True).content.decode()
    assert "••••ABCD" in html and ProjectSecret.objects.filter(project=project).count() == 1
    remove = reverse("projects:secret-remove", kwargs={"project_id": project.pk, "name": "HF_HOME_TOKEN"})
    html = client.post(remove, {}, headers={"HX-Request": "true"}).content.decode()
    assert "Secret HF_HOME_TOKEN removed." in html and "No secrets yet." in html


@pytest.mark.parametrize("htmx", [False, True])
def test_bad_input_names_the_field_and_never_echoes_the_secret(client, owner, project, htmx):
    client.force_login(owner)
    headers = {"HX-Request": "true"} if htmx else {}
    url = reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "aws"})
    response = client.post(url, {"key_id": "", "secret": CANARY}, headers=headers)
    html = response.content.decode()
    assert response.status_code == (200 if htmx else 400)
    assert "Enter the access key id." in html
    _absent(html, CANARY)
    url = reverse("projects:secret-set", kwargs={"project_id": project.pk})
    html = client.post(url, {"name": "PATH", "value": SECRET_CANARY}, headers=headers).content.decode()
    assert "PATH is reserved" in html
    _absent(html, SECRET_CANARY)
    assert not ProjectKey.objects.exists() and not ProjectSecret.objects.exists()


def test_unknown_key_type_is_404(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "dropbox"})
    assert client.post(url, {"secret": "x"}).status_code == 404


# ---- everyone else -------------------------------------------------------------------------------


def test_member_with_all_access_gets_404_and_nothing_changes(client, member_all, with_keys):
    client.force_login(member_all)
    assert client.get(_keys_url(with_keys)).status_code == 404
    url = reverse("projects:key-set", kwargs={"project_id": with_keys.pk, "kind": "aws"})
    assert client.post(url, {"key_id": "EVIL", "secret": "evil-secret"}).status_code == 404
    remove = reverse("projects:secret-remove", kwargs={"project_id": with_keys.pk, "name": "WANDB_API_KEY"})
    assert client.post(remove).status_code == 404
    assert ProjectKey.objects.get(project=with_keys).public == {"key_id": "AKIAOWNERVISIBLE"}
    assert ProjectSecret.objects.filter(project=with_keys).exists()


def test_section_shows_nothing_to_a_member_and_everything_to_the_owner(client, owner, member_all, with_keys):
    url = reverse("projects:keys", args=[with_keys.pk])
    for person, visible in ((member_all, False), (owner, True)):
        client.force_login(person)
        response = client.get(url, headers={"HX-Request": "true"})
        html = response.content.decode()
        assert response.status_code == (200 if visible else 404)
        assert ("Third-party keys" in html) is visible
        assert ("keys-section" in html) is visible
        assert ("AKIAOWNERVISIBLE" in html) is visible
        _absent(html, CANARY, SECRET_CANARY)


@pytest.fixture
def world(db):
    """The access matrix's world, with keys and secrets (the canaries) in the shared project and in
    the members' and the outsider's Personal projects."""
    from .test_access_matrix import build_world

    world = build_world()
    project, owner = world.project, world.people["owner"]
    for target in (project, Project.objects.personal_of(owner)):
        for kind, spec in keys.KEY_SPECS.items():
            public = {f.name: f"{kind}-public" for f in spec.public}
            secret = (json.dumps({"type": "service_account", "private_key": CANARY})
                      if kind == "gcp" else CANARY)
            keys.key_set(project=target, kind=kind, public=public, secret=secret, actor=owner)
        keys.secret_set(project=target, name="WANDB_API_KEY", value=SECRET_CANARY, actor=owner)
    return world


@pytest.mark.parametrize("role", ROLES)
def test_canaries_absent_from_every_page_for_every_role(client, world, role):
    """Every GET URL the access matrix knows (so also those added later), as page and as htmx
    partial, with the world's project active: no key secret or secret value, for anyone — the owner
    included (a secret is never shown again after saving)."""
    person = world.people[role]
    if person is not None:
        client.force_login(person)
    checked = 0
    for name, route in sorted(all_routes().items()):
        url = reverse(name, kwargs=route.kwargs(world))
        if person is not None and role != "outsider":
            session = client.session
            session["trainshed_project"] = str(world.project.pk)
            session.save()
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers, follow=True)
            _absent(_body(response), CANARY, SECRET_CANARY)
            checked += 1
    for url in (reverse("home"), _keys_url(world.project)):
        _absent(_body(client.get(url, follow=True)), CANARY, SECRET_CANARY)
    assert checked >= 2 * 5


def test_keys_page_for_non_owner_roles_shows_no_trace_of_the_section(client, world):
    for role in ("member_all", "member_read", "member_none", "outsider"):
        client.force_login(world.people[role])
        response = client.get(_keys_url(world.project))
        assert response.status_code == 404
        html = response.content.decode()
        assert "Third-party keys" not in html and "WANDB_API_KEY" not in html
        assert "aws-public" not in html


# ---- logs, error pages, error reports ------------------------------------------------------------


def test_canary_absent_from_captured_logs(client, owner, project, caplog, settings, tmp_path):
    settings.DEBUG = True  # SQL logging too (it carries only ciphertext)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    client.force_login(owner)
    client.post(reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "aws"}),
                {"key_id": "AKIALOG", "secret": CANARY})
    client.post(reverse("projects:secret-set", kwargs={"project_id": project.pk}),
                {"name": "WANDB_API_KEY", "value": SECRET_CANARY})
    client.post(reverse("projects:secret-set", kwargs={"project_id": project.pk}),
                {"name": "bad name", "value": SECRET_CANARY})
    client.get(_keys_url(project))
    keys.redactor(project=project)(f"log {CANARY}")
    keys.job_environment(project=project, workspace=tmp_path)
    assert ProjectKey.objects.filter(project=project).exists()
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert CANARY not in caplog.text and SECRET_CANARY not in caplog.text
    for event in AuditEvent.objects.filter(project=project):
        assert CANARY not in repr(event.__dict__) and SECRET_CANARY not in repr(event.__dict__)


def test_canary_absent_from_the_debug_error_page_and_the_log(client, owner, project, settings, caplog):
    """A crash while saving (here: a broken Fernet key setting) shows a debug page and logs a
    traceback; neither holds the posted secret."""
    settings.DEBUG = True
    settings.TRAINSHED_FERNET_KEYS = ["not-a-fernet-key"]
    client.raise_request_exception = False
    client.force_login(owner)
    url = reverse("projects:key-set", kwargs={"project_id": project.pk, "kind": "aws"})
    response = client.post(url, {"key_id": "AKIACRASH", "secret": CANARY})
    html = response.content.decode()
    assert response.status_code == 500
    assert "ImproperlyConfigured" in html and "********" in html  # the debug page, filtered
    _absent(html, CANARY)
    assert "Internal Server Error" in caplog.text
    assert CANARY not in caplog.text


def test_canary_absent_from_the_emailed_error_report(client, owner, project, settings):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.TRAINSHED_FERNET_KEYS = ["not-a-fernet-key"]
    client.raise_request_exception = False
    client.force_login(owner)
    url = reverse("projects:secret-set", kwargs={"project_id": project.pk})
    response = client.post(url, {"name": "WANDB_API_KEY", "value": SECRET_CANARY})
    assert response.status_code == 500
    _absent(response.content.decode(), SECRET_CANARY)
    assert mail.outbox, "no error report was sent"
    report = mail.outbox[-1]
    assert "ImproperlyConfigured" in report.body
    _absent(report.body, SECRET_CANARY)
    for content, _mime in getattr(report, "alternatives", []):
        _absent(content, SECRET_CANARY)


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode(errors="replace")  # downloads may be binary; the canaries are ASCII


def test_empty_forms_show_what_is_stored_now(client, owner, project):
    """The empty key forms are written once per key type and stored public values: a replaced
    value shows at once, in this project only, escaped."""
    url = reverse("projects:keys", args=[project.pk])
    from tests.factories import ProjectFactory

    other = ProjectFactory(owner=owner, name="Other")
    client.force_login(owner)
    for username in ("ada<x>", "grace"):
        keys.key_set(project=project, kind="kaggle", public={"username": username}, secret="k" * 20, actor=owner)
        page = client.get(url).content.decode()
        card = page.split('id="key-kaggle"')[1].split("</article>")[0]
        assert f'name="username" value="{username.replace("<", "&lt;").replace(">", "&gt;")}"' in card
        assert "k" * 20 not in page
    other_card = client.get(reverse("projects:keys", args=[other.pk])).content.decode().split(
        'id="key-kaggle"')[1].split("</article>")[0]
    assert 'name="username" placeholder=' in other_card and "grace" not in other_card
