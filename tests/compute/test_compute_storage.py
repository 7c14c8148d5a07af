"""Where datasets and models are stored: platform storage, or the owner's node when the project
uses only owned compute (and a clear refusal when the owner has none online)."""

import pytest
from django.core.exceptions import ValidationError

from compute.services import storage_node_for
from tests.factories import UserFactory, make_node


def test_platform_storage_when_not_owned_only(project, owner):
    make_node(owner=owner)
    assert storage_node_for(project=project) is None


def test_owned_only_stores_on_the_owners_online_node_with_storage(project, owner):
    project.owned_compute_only = True
    project.save()
    make_node(owner=owner, storage=False, name="no-disk")
    make_node(owner=owner, online=False, name="sleeping")
    make_node(owner=UserFactory(), name="not-theirs")
    make_node(name="public")
    disk = make_node(owner=owner, name="disk", storage_capacity_gb=500)
    bigger = make_node(owner=owner, name="bigger", storage_capacity_gb=8000)
    assert storage_node_for(project=project) == bigger
    bigger.delete()
    assert storage_node_for(project=project) == disk


def test_owned_only_without_an_online_storage_node_is_refused(project, owner):
    project.owned_compute_only = True
    project.save()
    make_node(owner=owner, online=False)
    make_node()  # a public node does not help
    with pytest.raises(ValidationError) as exc:
        storage_node_for(project=project)
    assert exc.value.code == "no_owned_storage"
    assert "the owner has no online node with storage" in exc.value.messages[0]
