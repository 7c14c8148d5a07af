"""The member table is kept in the cache under the project's members_version: whatever changes
its members, their access, their addresses or the invitations shows on the very next view."""

import time
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from projects import services
from projects.models import Invitation, Membership, Project
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def _table(client, project) -> str:
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    return page.split('<section id="member-table">')[1].split("</section>")[0]


@pytest.fixture
def seen(client, owner, project):
    """The owner's view of the member table, with one member: read once, so it is kept."""
    member = UserFactory(email="member@example.com")
    add_member(project, member, jobs="read")
    client.force_login(owner)
    table = _table(client, project)
    assert "member@example.com" in table
    return member


def _selected(table, membership, rt) -> str:
    select = table.split(f'name="{membership.pk}-{rt}"')[1].split("</select>")[0]
    return select.split(" selected>")[0].rsplit('value="', 1)[1].rstrip('"')


def test_a_change_of_access_shows_on_the_next_view(client, owner, project, seen):
    membership = Membership.objects.get(project=project, user=seen)
    assert _selected(_table(client, project), membership, "jobs") == "read"
    services.membership_set(project=project, user=seen, jobs="all", datasets="none", models="read", actor=owner)
    table = _table(client, project)
    assert _selected(table, membership, "jobs") == "all" and _selected(table, membership, "datasets") == "none"


def test_a_new_and_a_removed_member_show_on_the_next_view(client, owner, project, seen):
    add_member(project, UserFactory(email="newcomer@example.com"))
    assert "newcomer@example.com" in _table(client, project)
    services.membership_remove(project=project, user=seen, actor=owner)
    table = _table(client, project)
    assert "member@example.com" not in table and "newcomer@example.com" in table


def test_a_member_leaving_and_a_row_deleted_outside_the_services_show_on_the_next_view(client, owner, project, seen):
    other = UserFactory(email="other@example.com")
    add_member(project, other)
    assert "other@example.com" in _table(client, project)
    services.project_leave(project=project, user=seen)
    assert "member@example.com" not in _table(client, project)
    Membership.objects.filter(user=other).delete()  # not through a service (the admin's bulk delete)
    assert "other@example.com" not in _table(client, project)


def test_a_members_new_primary_address_shows_on_the_next_view(client, owner, project, seen):
    address = EmailAddress.objects.create(user=seen, email="renamed@example.com", verified=True)
    address.set_as_primary()  # what the e-mail addresses page does
    seen.refresh_from_db()
    assert seen.email == "renamed@example.com"
    table = _table(client, project)
    assert "renamed@example.com" in table and "member@example.com" not in table


def test_only_a_saved_address_makes_the_table_out_of_date(project, seen):
    version = Project.objects.get(pk=project.pk).members_version
    seen.name = "Someone"
    seen.save(update_fields=["name"])
    assert Project.objects.get(pk=project.pk).members_version == version
    seen.email = "moved@example.com"
    seen.save()
    assert Project.objects.get(pk=project.pk).members_version == version + 1


def test_invitations_sent_revoked_and_accepted_show_on_the_next_view(client, owner, project, seen):
    services.member_add_by_email(project=project, email="later@example.com", jobs="read", datasets="read",
                                 models="read", actor=owner)
    services.member_add_by_email(project=project, email="revoked@example.com", jobs="read",
                                 datasets="read", models="read", actor=owner)
    table = _table(client, project)
    assert "later@example.com" in table and "revoked@example.com" in table
    services.invitation_revoke(invitation=Invitation.objects.get(email="revoked@example.com"), actor=owner)
    assert "revoked@example.com" not in _table(client, project)
    newcomer = UserFactory(email="later@example.com")
    services.invitations_accept_for(user=newcomer, email="later@example.com")
    table = _table(client, project)
    membership = Membership.objects.get(project=project, user=newcomer)
    assert f'id="member-{membership.pk}"' in table and 'class="pending"' not in table


def test_an_invitation_past_its_date_is_expired_on_the_next_view(client, owner, project, seen):
    invitation = services.member_add_by_email(project=project, email="later@example.com", jobs="read",
                                              datasets="read", models="read", actor=owner)
    # it ends in a moment (update(): no signal, as if the table had been kept with it)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
    assert "later@example.com" in _table(client, project)
    time.sleep(1.1)  # its date passes while the table is kept: no write marks it, only the clock
    assert "later@example.com" not in _table(client, project)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED
    assert "later@example.com" not in _table(client, project)


def test_the_owner_sees_their_own_change_at_once_through_htmx(client, owner, project, seen):
    membership = Membership.objects.get(project=project, user=seen)
    url = reverse("projects:member-update", args=[project.pk, membership.pk])
    data = {f"{membership.pk}-jobs": "none", f"{membership.pk}-datasets": "all",
            f"{membership.pk}-models": "none", "members_page": "1"}
    response = client.post(url, data, headers={"HX-Request": "true"})
    table = response.content.decode()
    assert response.status_code == 200 and "Updated member@example.com." in table
    assert _selected(table, membership, "jobs") == "none" and _selected(table, membership, "datasets") == "all"
    assert _selected(_table(client, project), membership, "models") == "none"
