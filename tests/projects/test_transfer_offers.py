"""An ownership offer ends with the membership it was made to: removal, leaving or an access change
withdraws it, and an offer expires after TRAINSHED_TRANSFER_OFFER_DAYS."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from projects.models import Project
from projects.services import (
    membership_remove,
    membership_set,
    project_leave,
    transfer_offer,
    transfer_respond,
)


def _refused(project, user):
    with pytest.raises(ValidationError):
        transfer_respond(project=project, user=user, accept=True)
    project.refresh_from_db()
    return project.owner_id


def test_a_removed_and_readded_member_cannot_accept_an_old_offer(project, owner, member_all):
    transfer_offer(project=project, to_user=member_all, actor=owner)
    membership_remove(project=project, user=member_all, actor=owner)
    project.refresh_from_db()
    assert project.transfer_to_id is None
    membership_set(project=project, user=member_all, jobs="read", datasets="read", models="read", actor=owner)
    assert _refused(project, member_all) == owner.pk


def test_leaving_withdraws_the_offer(project, owner, member_all):
    transfer_offer(project=project, to_user=member_all, actor=owner)
    project_leave(project=project, user=member_all)
    assert Project.objects.get(pk=project.pk).transfer_to_id is None


def test_an_access_change_withdraws_the_offer(project, owner, member_all):
    transfer_offer(project=project, to_user=member_all, actor=owner)
    membership_set(project=project, user=member_all, jobs="read", datasets="read", models="read", actor=owner)
    assert _refused(project, member_all) == owner.pk


def test_an_unchanged_membership_keeps_the_offer(project, owner, member_all):
    transfer_offer(project=project, to_user=member_all, actor=owner)
    membership_set(project=project, user=member_all, jobs="all", datasets="all", models="all", actor=owner)
    transfer_respond(project=project, user=member_all, accept=True)
    assert Project.objects.get(pk=project.pk).owner_id == member_all.pk


def test_an_offer_expires(project, owner, member_all, settings):
    settings.TRAINSHED_TRANSFER_OFFER_DAYS = 7
    transfer_offer(project=project, to_user=member_all, actor=owner)
    Project.objects.filter(pk=project.pk).update(transfer_offered_at=timezone.now() - timedelta(days=8))
    project.refresh_from_db()
    assert _refused(project, member_all) == owner.pk
