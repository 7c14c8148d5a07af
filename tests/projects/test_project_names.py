"""Project names are normalised before the reserved and duplicate checks: compatibility forms
(NFKC), invisible characters and look-alike letters do not get around "Personal" or an existing
name, and control characters (CR/LF, which broke the invitation mail after writing its row) are
refused with a field error."""

import pytest
from django.core.exceptions import ValidationError

from projects.models import Invitation, Project
from projects.services import member_add_by_email, project_create, project_rename


@pytest.mark.parametrize("name", ["P\u0435rsonal", "Per\u200bsonal", "\u00adPersonal", "Ｐｅｒｓｏｎａｌ",
                                  "PERSON\u0391L", "Personal\u2060"])
def test_lookalikes_of_personal_are_reserved(owner, name):
    with pytest.raises(ValidationError) as refused:
        project_create(owner=owner, name=name)
    assert "reserved" in " ".join(refused.value.message_dict["name"])
    assert not Project.objects.filter(owner=owner, is_personal=False).exists()


def test_invisible_characters_are_removed_from_a_stored_name(owner):
    assert project_create(owner=owner, name="Vision\u200b Lab\ufeff").name == "Vision Lab"


@pytest.mark.parametrize("name", ["Vision Research", "vision research", "Vision\u200b Research",
                                  "Visi\u043en Research"])
def test_a_duplicate_name_of_the_same_owner_is_refused(owner, project, name):
    with pytest.raises(ValidationError) as refused:
        project_create(owner=owner, name=name)
    assert "already" in " ".join(refused.value.message_dict["name"])


def test_renaming_to_its_own_name_is_allowed(owner, project):
    assert project_rename(project=project, name="Vision Research", actor=owner).name == "Vision Research"


@pytest.mark.parametrize("name", ["Team\r\nBcc: x@example.com", "Team\nX", "Tab\there", "Bell\x07"])
def test_control_characters_are_refused(owner, name):
    with pytest.raises(ValidationError) as refused:
        project_create(owner=owner, name=name)
    assert "control characters" in " ".join(refused.value.message_dict["name"])


def test_a_renamed_project_with_crlf_sends_no_half_written_invitation(client, owner, project):
    client.force_login(owner)
    response = client.post(f"/projects/{project.pk}/rename/", {"name": "Evil\r\nBcc: all@example.com"})
    assert response.status_code in (200, 302)
    project.refresh_from_db()
    assert project.name == "Vision Research"
    member_add_by_email(project=project, email="new@example.com", jobs="read", datasets="read",
                        models="read", actor=owner)
    assert Invitation.objects.filter(project=project).count() == 1


def test_an_old_name_with_crlf_still_sends_its_invitation(owner, project, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    Project.objects.filter(pk=project.pk).update(name="Old\r\nBcc: all@example.com")
    project.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        member_add_by_email(project=project, email="new@example.com", jobs="read", datasets="read",
                            models="read", actor=owner)
    assert len(mailoutbox) == 1 and "\n" not in mailoutbox[0].subject
