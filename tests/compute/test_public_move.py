""""Move" on the public-compute section: an owned-only project's datasets and models on public
storage are copied to the owner's node through its real file relay (here on loopback), pointed at
the node, and only then deleted from the platform's storage; a failure keeps the original and
names it."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects import services as project_services
from projects.models import AuditEvent
from resources import services as resource_services
from resources.models import Dataset, DatasetFile, MLModel, PublicMove
from resources.owned_only import public_files_move
from tests.factories import make_node
from tests.jobs_helpers import agent_for

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


@pytest.fixture
def public_data(project, owner):
    """A dataset (two files) and a model stored before the project went owned-only."""
    dataset = resource_services.dataset_create_from_upload(
        project=project, name="reviews", created_by=owner,
        files=[SimpleUploadedFile("r.csv", b"a,b\n1,2\n"), SimpleUploadedFile("notes.txt", b"hello")])
    model = resource_services.model_create_from_upload(
        project=project, name="bert", created_by=owner, files=[SimpleUploadedFile("w.bin", b"\x00" * 1000)])
    return dataset, model


@pytest.fixture
def workstation(owner, tmp_path):
    node = make_node(owner=owner, name="workstation")
    agent = agent_for(node, tmp_path, serve=True)  # its heartbeat reports where its relay listens
    yield node, agent, tmp_path / "agent" / "files"
    agent.relay.stop()


def _move(client, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("resources:public-leftovers-choose", args=[project.pk]),
                               {"choice": "move"}, headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def test_move_copies_the_files_to_the_node_then_deletes_the_public_copy(
        client, owner, project, public_data, workstation, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    dataset, model = public_data
    node, _agent, node_dir = workstation
    media = Path(settings.MEDIA_ROOT)
    assert _files(media) == {"r.csv": b"a,b\n1,2\n", "notes.txt": b"hello", "w.bin": b"\x00" * 1000}
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)
    section_url = reverse("resources:public-leftovers", args=[project.pk])
    assert "Move them to my node" in client.get(section_url, headers=HX).content.decode()

    moving = _move(client, project, django_capture_on_commit_callbacks)

    assert "Moving datasets and models to your node workstation…" in moving
    assert f'hx-get="{section_url}" hx-trigger="every 2s"' in moving
    move = PublicMove.objects.get(project=project)
    task = DBTaskResult.objects.get(task_path="resources.owned_only.move_public_files")
    assert task.queue_name == "downloads" and task.args_kwargs["args"] == [str(move.pk)]
    assert AuditEvent.objects.filter(project=project, action="compute.public_move_started").exists()

    assert public_files_move(move_id=move.pk) == "done"  # what the worker runs

    assert _files(node_dir) == {"r.csv": b"a,b\n1,2\n", "notes.txt": b"hello", "w.bin": b"\x00" * 1000}
    assert _files(media) == {}
    dataset.refresh_from_db()
    model.refresh_from_db()
    assert dataset.storage_node == node and dataset.location == "node"
    assert model.storage_node == node and model.location == "node"
    download = client.get(reverse("resources:dataset-file", args=[dataset.pk, "notes.txt"]))
    assert b"".join(download.streaming_content) == b"hello"
    event = AuditEvent.objects.get(project=project, action="compute.public_moved")
    assert event.after == {"moved": 2, "failed": []} and event.target == "workstation"
    done = client.get(section_url, headers=HX).content.decode()
    assert "Moved 2 to your node workstation" in done and "every 2s" not in done
    assert "Nothing of this project is on public compute." in done


def test_a_failed_copy_keeps_the_original_and_names_it(
        client, owner, project, public_data, workstation, settings, django_capture_on_commit_callbacks):
    dataset, model = public_data
    node, _agent, node_dir = workstation
    # The rows claim one more byte than the file holds: the copy fails part way through.
    DatasetFile.objects.filter(dataset=dataset, path="r.csv").update(size_bytes=9)
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)
    _move(client, project, django_capture_on_commit_callbacks)

    assert public_files_move(move_id=PublicMove.objects.get().pk) == "failed"

    dataset.refresh_from_db()
    model.refresh_from_db()
    assert dataset.storage_node is None and dataset.location == "platform"
    assert _files(Path(settings.MEDIA_ROOT)) == {"r.csv": b"a,b\n1,2\n", "notes.txt": b"hello"}
    assert model.storage_node == node  # the other one moved
    assert _files(node_dir) == {"w.bin": b"\x00" * 1000}  # no part of the failed copy stays
    page = client.get(reverse("resources:public-leftovers", args=[project.pk]), headers=HX).content.decode()
    assert "Dataset “reviews” was not moved and stays on public storage" in page
    assert "fewer bytes" in page
    event = AuditEvent.objects.get(project=project, action="compute.public_moved")
    assert event.after == {"moved": 1, "failed": ["dataset reviews"]}


def test_the_node_going_offline_mid_move_keeps_every_original(
        client, owner, project, public_data, workstation, settings, django_capture_on_commit_callbacks):
    dataset, model = public_data
    _node, agent, node_dir = workstation
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)
    _move(client, project, django_capture_on_commit_callbacks)
    agent.relay.stop()  # after the owner chose Move, before the worker copies anything

    assert public_files_move(move_id=PublicMove.objects.get().pk) == "failed"

    assert Dataset.objects.filter(storage_node__isnull=True).count() == 1
    assert MLModel.objects.filter(storage_node__isnull=True).count() == 1
    assert len(_files(Path(settings.MEDIA_ROOT))) == 3 and _files(node_dir) == {}
    page = client.get(reverse("resources:public-leftovers", args=[project.pk]), headers=HX).content.decode()
    assert "Moved 0 to your node workstation" in page
    assert "Dataset “reviews” was not moved" in page and "Model “bert” was not moved" in page
    assert "Move them to my node" in page  # may be tried again


def test_move_is_disabled_with_the_reason_without_an_online_node(client, owner, project, public_data):
    make_node(owner=owner, name="asleep", online=False)
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(owner)

    page = client.get(reverse("resources:public-leftovers", args=[project.pk]), headers=HX).content.decode()

    assert "data-move-public disabled" in page
    assert "Move is not possible now:" in page and "no online node with storage" in page.lower()
    refused = client.post(reverse("resources:public-leftovers-choose", args=[project.pk]),
                          {"choice": "move"}, headers=HX).content.decode()
    assert "no online node with storage" in refused.lower()
    assert not PublicMove.objects.exists()


def test_only_the_owner_may_move(client, owner, project, member_all, public_data, workstation):
    project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
    client.force_login(member_all)
    response = client.post(reverse("resources:public-leftovers-choose", args=[project.pk]), {"choice": "move"})
    assert response.status_code == 403
    assert not PublicMove.objects.exists()
