import pytest
from django.urls import reverse

from projects import access
from projects.models import AuditEvent, Membership, Project

pytestmark = pytest.mark.django_db


def _offer(client, owner, project, member):
    client.force_login(owner)
    return client.post(reverse("projects:transfer-offer", args=[project.pk]), {"member": member.email.upper()})


def test_member_accepts_ownership_atomically(client, owner, project, member_read):
    _offer(client, owner, project, member_read)
    client.force_login(member_read)
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "offers you ownership" in page
    response = client.post(
        reverse("projects:transfer-respond", args=[project.pk]), {"decision": "accept"}, follow=True
    )
    assert "You now own Vision Research." in response.content.decode()
    project.refresh_from_db()
    assert project.owner == member_read and project.transfer_to is None
    assert not Membership.objects.filter(project=project, user=member_read).exists()
    old = Membership.objects.get(project=project, user=owner)
    assert old.access() == {"jobs": "all", "datasets": "all", "models": "all"}
    fresh_owner = type(owner).objects.get(pk=owner.pk)
    fresh_new = type(owner).objects.get(pk=member_read.pk)
    assert access.is_owner(fresh_new, project) and not access.is_owner(fresh_owner, project)
    assert access.can(fresh_owner, project, "jobs", "manage")
    assert AuditEvent.objects.filter(action="ownership.accepted", before={"owner": owner.email}).exists()


def test_member_declines(client, owner, project, member_read):
    _offer(client, owner, project, member_read)
    client.force_login(member_read)
    client.post(reverse("projects:transfer-respond", args=[project.pk]), {"decision": "decline"})
    project.refresh_from_db()
    assert project.owner == owner and project.transfer_to is None
    assert AuditEvent.objects.filter(action="ownership.declined").exists()


def test_only_the_offered_member_can_accept(client, owner, project, member_read, member_all):
    _offer(client, owner, project, member_read)
    client.force_login(member_all)
    response = client.post(
        reverse("projects:transfer-respond", args=[project.pk]), {"decision": "accept"}, follow=True
    )
    assert "no ownership offer for you" in response.content.decode()
    assert Project.objects.get(pk=project.pk).owner == owner


def test_offer_only_to_a_member(client, owner, project, outsider):
    response = _offer(client, owner, project, outsider)
    assert response.status_code == 200
    assert f"{outsider.email.upper()} is not a member of this project." in response.content.decode()
    project.refresh_from_db()
    assert project.transfer_to is None


def test_owner_can_withdraw_offer(client, owner, project, member_read):
    _offer(client, owner, project, member_read)
    client.post(reverse("projects:transfer-cancel", args=[project.pk]))
    project.refresh_from_db()
    assert project.transfer_to is None
    assert AuditEvent.objects.filter(action="ownership.offered").exists()
    assert AuditEvent.objects.filter(action="ownership.cancelled").exists()
