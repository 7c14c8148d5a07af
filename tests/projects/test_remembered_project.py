"""The active project survives signing out and in; a remembered project the person lost access
to is dropped, with the usual message, and Personal is active again."""

from django.urls import reverse

from projects import services
from projects.models import LastProject
from tests.factories import UserFactory, add_member

PASSWORD = "a-long-enough-password-1"


def _sign_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def _person(project):
    person = UserFactory(email="returning@example.com")
    person.set_password(PASSWORD)
    person.save()
    add_member(project, person, jobs="read", datasets="read", models="read")
    return person


def _active_name(client) -> str:
    page = client.get(reverse("resources:job-list")).content.decode()
    return page.split("In <strong>", 1)[1].split("<", 1)[0]  # the list names the active project


def test_the_active_project_survives_signing_out_and_in(client, project):
    person = _person(project)
    _sign_in(client, person)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    assert _active_name(client) == "Vision Research"
    client.post(reverse("account_logout"))
    _sign_in(client, person)
    assert _active_name(client) == "Vision Research"


def test_switching_back_to_personal_is_remembered_too(client, project):
    person = _person(project)
    _sign_in(client, person)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    personal = person.owned_projects.get(is_personal=True)
    client.post(reverse("projects:switch"), {"project": str(personal.pk)})
    assert not LastProject.objects.filter(user=person).exists()
    client.post(reverse("account_logout"))
    _sign_in(client, person)
    assert _active_name(client) == "Personal"


def test_a_remembered_project_without_access_is_dropped_with_a_message(client, owner, project):
    person = _person(project)
    _sign_in(client, person)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    client.post(reverse("account_logout"))
    services.membership_remove(project=project, user=person, actor=owner)
    _sign_in(client, person)
    page = client.get(reverse("resources:job-list")).content.decode()
    assert "You no longer have access to Vision Research." in page
    assert _active_name(client) == "Personal"
    assert not LastProject.objects.filter(user=person).exists()
    client.post(reverse("account_logout"))
    _sign_in(client, person)  # and it does not come back
    assert "no longer have access" not in client.get(reverse("resources:job-list")).content.decode()


def test_each_account_remembers_its_own(client, project):
    person = _person(project)
    other = UserFactory(email="other@example.com")
    other.set_password(PASSWORD)
    other.save()
    add_member(project, other, jobs="read", datasets="read", models="read")
    _sign_in(client, person)
    client.post(reverse("projects:switch"), {"project": str(project.pk)})
    client.post(reverse("account_logout"))
    _sign_in(client, other)
    assert _active_name(client) == "Personal"
