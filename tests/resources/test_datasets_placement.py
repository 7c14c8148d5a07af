"""Where datasets and models live (owned-compute-only projects keep them on the owner's node) and
the credit check before creating one."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing import services as billing_services
from projects import services as project_services
from resources.models import Dataset
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import agent_for

from .test_datasets import activate, upload

pytestmark = pytest.mark.django_db


def test_owned_only_project_stores_files_on_the_owners_node(client, owner, project, tmp_path, settings):
    """Through the node's agent: its real file relay, here on loopback."""
    node = make_node(owner=owner, name="workstation")
    agent = agent_for(node, tmp_path, serve=True)  # its heartbeat reports where the relay listens
    node_dir = tmp_path / "agent" / "files"
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)
    activate(client, project)
    upload(client, project, "On my node", SimpleUploadedFile("a.txt", b"hello node"))
    dataset = Dataset.objects.get(name="On my node")
    assert dataset.storage_node == node and dataset.location == "node"
    on_node = [p for p in node_dir.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in on_node] == [b"hello node"]
    media = tmp_path / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    page = client.get(reverse("resources:dataset-detail", args=[dataset.pk])).content.decode()
    assert "Node workstation" in page
    download = client.get(reverse("resources:dataset-file", args=[dataset.pk, "a.txt"]))
    assert b"".join(download.streaming_content) == b"hello node"
    agent.relay.stop()


def test_owned_only_project_without_an_online_storage_node_refuses(client, owner, project):
    make_node(owner=owner, online=False)
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)
    activate(client, project)
    response = upload(client, project, "Nowhere", SimpleUploadedFile("a.txt", b"x"))
    assert response.status_code == 200
    assert "no online node with storage" in response.content.decode().lower()
    assert not Dataset.objects.exists()


def test_member_upload_refused_when_the_owner_has_no_credits(client):
    owner = UserFactory(email="broke@example.com", credits=0)
    project = ProjectFactory(owner=owner)
    member = UserFactory(email="m@example.com")
    project_services.membership_set(project=project, user=member, jobs="all", datasets="all",
                                    models="all", actor=owner)
    client.force_login(member)
    activate(client, project)
    response = upload(client, project, "Refused", SimpleUploadedFile("a.txt", b"x"))
    html = response.content.decode()
    # Said to the member: whose credits are missing, not "your account".
    assert f"The owner ({owner.get_full_name()}) has no credits: ask them to add credits." in html
    assert billing_services.balance(billing_services.account_for(owner)) == 0
    assert "0.00" not in html  # the member is not shown the owner's balance
    assert not Dataset.objects.exists()
