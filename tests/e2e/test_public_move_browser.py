"""In a real browser: the owner of an owned-only project moves its datasets on public storage to
their node (the node's real file relay on loopback); the section shows "moving…" until the
background task has run, then the result."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects import services as project_services
from resources import services as resource_services
from resources.models import Dataset
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory, make_node
from tests.jobs_helpers import agent_for, ready, seed_gpu_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_moves_public_datasets_to_their_node(live_server, page, screenshots, settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    settings.MEDIA_ROOT = tmp_path / "media"
    seed_gpu_types()
    bob = UserFactory(email="bob@example.com", name="Bob")
    team = ready(ProjectFactory(owner=bob, name="Vision"))
    for name in ("reviews", "images"):
        resource_services.dataset_create_from_upload(
            project=team, name=name, created_by=bob, files=[SimpleUploadedFile(f"{name}.csv", b"x,y\n1,2\n")])
    node = make_node(owner=bob, name="bobs-box")
    agent = agent_for(node, tmp_path, serve=True)
    try:
        project_services.project_settings_update(project=team, actor=bob, owned_compute_only=True)
        sign_in(page, live_server.url, bob.email)
        page.goto(f"{live_server.url}/compute/projects/{team.pk}/")
        page.wait_for_selector("[data-public-files]:has-text('reviews')")
        page.screenshot(path=str(screenshots / "e2e-public-move-offer.png"), full_page=True)

        page.locator("[data-move-public]").click()
        page.wait_for_selector("[data-moving]:has-text('Moving datasets and models to your node bobs-box')")
        page.screenshot(path=str(screenshots / "e2e-public-move-moving.png"), full_page=True)

        result = DBTaskResult.objects.get(task_path="resources.owned_only.move_public_files")
        assert result.task.call(*result.args_kwargs["args"]) == "done"  # what the worker runs

        page.wait_for_selector("[data-move-result]:has-text('Moved 2 to your node bobs-box')", timeout=15_000)
        assert page.locator("[data-moving]").count() == 0
        page.wait_for_selector("text=Nothing of this project is on public compute.")
        page.screenshot(path=str(screenshots / "e2e-public-move-done.png"), full_page=True)
    finally:
        agent.relay.stop()
    assert set(Dataset.objects.values_list("storage_node__name", flat=True)) == {"bobs-box"}
    on_node = sorted(p.name for p in (tmp_path / "agent" / "files").rglob("*") if p.is_file())
    assert on_node == ["images.csv", "reviews.csv"]
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file() and ".incoming" not in p.parts]


def test_move_is_disabled_with_the_reason_when_the_owners_node_is_offline(live_server, page, screenshots,
                                                                          settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_gpu_types()
    bob = UserFactory(email="bob@example.com", name="Bob")
    team = ready(ProjectFactory(owner=bob, name="Vision"))
    resource_services.dataset_create_from_upload(
        project=team, name="reviews", created_by=bob, files=[SimpleUploadedFile("r.csv", b"x,y\n")])
    make_node(owner=bob, name="bobs-box", online=False)
    project_services.project_settings_update(project=team, actor=bob, owned_compute_only=True)
    sign_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/compute/projects/{team.pk}/")
    page.wait_for_selector("[data-move-refusal]")
    assert page.locator("[data-move-public]").is_disabled()
    assert "no online node with storage" in page.locator("[data-move-refusal]").inner_text().lower()
    page.screenshot(path=str(screenshots / "e2e-public-move-disabled.png"), full_page=True)
