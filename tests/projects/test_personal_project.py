"""A Personal project cannot be shared, renamed, configured, left or removed: the services refuse."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from projects import services
from projects.models import AuditEvent, Membership, Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def personal(owner):
    return Project.objects.personal_of(owner)


def test_personal_cannot_be_shared(personal, owner):
    other = UserFactory()
    with pytest.raises(ValidationError, match="Personal project cannot be shared"):
        services.membership_set(
            project=personal, user=other, jobs="all", datasets="read", models="read", actor=owner
        )
    assert not Membership.objects.filter(project=personal).exists()


def test_personal_cannot_be_renamed(personal, owner):
    with pytest.raises(ValidationError, match="cannot be renamed"):
        services.project_rename(project=personal, name="Mine", actor=owner)
    personal.refresh_from_db()
    assert personal.name == "Personal"


def test_personal_cannot_be_configured(personal, owner):
    with pytest.raises(ValidationError, match="cannot be configured"):
        services.project_settings_update(project=personal, actor=owner, owned_compute_only=True)
    personal.refresh_from_db()
    assert personal.owned_compute_only is False


def test_personal_cannot_be_left(personal, owner):
    with pytest.raises(ValidationError, match="cannot be left"):
        services.project_leave(project=personal, user=owner)


def test_personal_cannot_be_removed(personal, owner):
    with pytest.raises(ValidationError, match="cannot be removed"):
        services.project_delete(project=personal, actor=owner)
    assert Project.objects.filter(pk=personal.pk).exists()
    assert not AuditEvent.objects.filter(action="project.deleted").exists()


def test_one_personal_project_per_owner_is_a_database_constraint(personal, owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(name="Personal", owner=owner, is_personal=True)
    assert Project.objects.filter(owner=owner, is_personal=True).count() == 1


def test_personal_project_is_visible_only_to_its_owner(personal, owner):
    other = UserFactory()
    assert list(Project.objects.for_user(owner)) == [personal]
    assert personal not in Project.objects.for_user(other)
