"""Carol, a read member of alice's "Vision Research" (no datasets there), works in her own project
and opens a link to one of Vision Research's jobs: the page works, says whose it is and makes that
project active in one click; the header leaves out Datasets there; switching from a datasets page
says why it moved her; signing out and in keeps the project; a bad link is the app's own 404."""

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compute.models import GpuType
from resources import services as resource_services
from resources.models import Job
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _switch_to(page, name):
    page.locator("#project-switcher summary").click()
    page.get_by_role("button", name=re.compile(f"^{re.escape(name)}")).click()


def test_a_link_to_another_projects_job(live_server, page, screenshots, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = UserFactory(email="alice@example.com", name="Alice")
    carol = UserFactory(email="carol@example.com", name="Carol")
    vision = ProjectFactory(owner=alice, name="Vision Research")
    add_member(vision, carol, jobs="read", datasets="none", models="read")
    ProjectFactory(owner=carol, name="Carol's Lab")
    job = Job.objects.create(project=vision, name="night run", gpu_type=GpuType.objects.get(slug="cpu"),
                             command="python train.py", created_by=alice, status="succeeded",
                             started_at=timezone.now(), ended_at=timezone.now())
    weights = resource_services.resource_create_from_upload(
        kind="models", project=vision, name="weights", created_by=alice,
        files=[SimpleUploadedFile("w.bin", b"01")])
    base = live_server.url

    sign_in(page, base, carol.email)
    page.goto(f"{base}/jobs/")
    _switch_to(page, "Carol's Lab")
    page.wait_for_selector("text=In Carol's Lab")

    # The link a colleague sent: the job page, whose project it is, one click to make it active.
    page.goto(f"{base}/jobs/{job.pk}/")
    banner = page.locator("[data-other-project]")
    assert "This job belongs to Vision Research" in banner.inner_text()
    assert "alice@example.com" in banner.inner_text()
    assert "not to your active project (Carol's Lab)" in banner.inner_text()
    page.screenshot(path=str(screenshots / "e2e-links-job-other-project.png"), full_page=True)
    banner.get_by_role("button", name="Make Vision Research active").click()
    page.wait_for_selector("text=Active project: Vision Research.")
    assert page.url.endswith(f"/jobs/{job.pk}/")  # she stays on the job
    assert page.locator("[data-other-project]").count() == 0
    assert "Vision Research" in page.locator("#project-switcher summary").inner_text()
    nav = page.locator("header .mainnav").inner_text()
    assert "Jobs" in nav and "Models" in nav and "Datasets" not in nav  # "none" for datasets here
    page.screenshot(path=str(screenshots / "e2e-links-job-made-active.png"), full_page=True)

    # On Datasets in her own project, switching to one where she has none for datasets says why.
    _switch_to(page, "Carol's Lab")
    page.wait_for_selector("text=Active project: Carol's Lab.")
    page.goto(f"{base}/datasets/")
    _switch_to(page, "Vision Research")
    page.wait_for_selector("text=You have no access to datasets in Vision Research")
    assert page.url.endswith(f"/projects/{vision.pk}/")
    page.screenshot(path=str(screenshots / "e2e-links-switch-moved.png"), full_page=True)

    # A model's link from her own project: the same banner; its button brings Vision Research back.
    _switch_to(page, "Carol's Lab")
    page.wait_for_selector("text=Active project: Carol's Lab.")
    page.goto(f"{base}/models/{weights.pk}/")
    assert "This model belongs to Vision Research" in page.locator("[data-other-project]").inner_text()
    assert page.get_by_role("link", name="Delete").count() == 0  # read access: no actions
    page.screenshot(path=str(screenshots / "e2e-links-model-other-project.png"), full_page=True)
    page.get_by_role("button", name="Make Vision Research active").click()
    page.wait_for_selector("text=Active project: Vision Research.")
    assert page.url.endswith(f"/models/{weights.pk}/")

    # Signing out and in keeps the active project.
    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/|.*/$"))
    sign_in(page, base, carol.email)
    assert "Vision Research" in page.locator("#project-switcher summary").inner_text()

    # A link to something that is not there (or hidden): the app's own page, with a way back.
    response = page.goto(f"{base}/jobs/{uuid.uuid4()}/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert page.locator("header.topbar").count() == 1
    page.screenshot(path=str(screenshots / "e2e-links-404-signed-in.png"), full_page=True)
    page.get_by_role("button", name="Back to your projects").click()
    page.wait_for_url(re.compile(r".*/projects/$"))

    # An action her access does not include: the app's own 403 page.
    response = page.goto(f"{base}/models/{weights.pk}/delete/")
    assert response.status == 403 and page.locator("h1").inner_text() == "Not allowed"
    page.screenshot(path=str(screenshots / "e2e-links-403.png"), full_page=True)

    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    response = page.goto(f"{base}/no/such/page/")
    assert response.status == 404 and page.locator("h1").inner_text() == "Not found"
    page.screenshot(path=str(screenshots / "e2e-links-404-signed-out.png"), full_page=True)
