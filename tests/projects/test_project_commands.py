from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from projects.models import Invitation, Membership, Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_createproject_addmember_removemember(owner):
    bob = UserFactory(email="bob@example.com")
    project_id = _call("createproject", "--owner", "OWNER@example.com", "Team X")
    project = Project.objects.get(pk=project_id)
    assert project.owner == owner and project.name == "Team X"

    assert "Added bob@example.com" in _call("addmember", project_id, "Bob@Example.com", "--jobs", "read",
                                           "--datasets", "all", "--models", "none")
    assert Membership.objects.get(project=project, user=bob).access() == {
        "jobs": "read", "datasets": "all", "models": "none"}
    assert "Invited" in _call("addmember", project_id, "ghost@example.com")
    assert Invitation.objects.filter(project=project, email="ghost@example.com", status="pending").exists()

    assert "Removed bob@example.com" in _call("removemember", project_id, "bob@example.com")
    assert not Membership.objects.filter(project=project).exists()


def test_commands_explain_bad_input(owner):
    with pytest.raises(CommandError, match="No account with the e-mail"):
        _call("createproject", "--owner", "nobody@example.com", "X")
    with pytest.raises(CommandError, match="No project with the id"):
        _call("addmember", "not-a-uuid", "a@example.com")
    personal = Project.objects.personal_of(owner)
    with pytest.raises(CommandError, match="Personal project cannot be shared"):
        _call("addmember", str(personal.pk), "a@example.com")


def test_demo_is_idempotent_and_builds_the_shared_projects():
    _call("demo")
    _call("demo")
    vision = Project.objects.get(name="Vision Research")
    assert vision.owner.email == "alice@example.com"
    levels = {m.user.email: m.access() for m in vision.memberships.select_related("user")}
    assert levels == {
        "bob@example.com": {"jobs": "all", "datasets": "read", "models": "read"},
        "carol@example.com": {"jobs": "read", "datasets": "read", "models": "read"},
    }
    nlp = Project.objects.get(name="NLP Sandbox")
    assert nlp.memberships.get().access() == {"jobs": "all", "datasets": "all", "models": "all"}
    assert Invitation.objects.filter(project=vision, status="pending").count() == 1
    assert Project.objects.filter(is_personal=False).count() == 2
