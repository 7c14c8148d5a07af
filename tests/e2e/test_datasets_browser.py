"""Bob, read-only on datasets in alice's "Vision Research", switches projects in a real browser,
finds no create button there, switches back to Personal and uploads with the progress bar."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from resources import services
from resources.models import Dataset
from tests.factories import PASSWORD, ProjectFactory, UserFactory, add_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bob_switches_projects_and_uploads_with_progress(live_server, page, screenshots, settings,
                                                         tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = UserFactory(email="alice@example.com", name="Alice")
    bob = UserFactory(email="bob@example.com", name="Bob")
    vision = ProjectFactory(owner=alice, name="Vision Research")
    add_member(vision, bob, jobs="all", datasets="read", models="read")
    services.dataset_create_from_upload(project=vision, name="CIFAR-10 sample", created_by=alice,
                                        files=[SimpleUploadedFile("labels.csv", b"f,l\n1,cat\n")])

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", bob.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/$"))

    page.goto(f"{live_server.url}/datasets/")
    assert page.locator("#project-switcher summary").inner_text().endswith("Personal")
    page.locator("#project-switcher summary").click()
    page.get_by_role("button", name=re.compile("Vision Research")).click()
    page.wait_for_selector("text=CIFAR-10 sample")
    assert "Vision Research" in page.locator("#project-switcher summary").inner_text()
    assert page.locator("main a[href='/datasets/new/']").count() == 0  # no create button
    assert page.get_by_text("New dataset").count() == 0
    page.screenshot(path=str(screenshots / "e2e-bob-vision-datasets.png"), full_page=True)

    page.locator("#project-switcher summary").click()
    page.get_by_role("button", name=re.compile("^Personal")).click()
    page.wait_for_selector("text=No datasets in Personal yet")
    page.get_by_role("button", name="New dataset").click()
    assert "Will be created in Personal" in page.locator(".landing-project").first.inner_text()

    big = tmp_path / "tokens.bin"
    big.write_bytes(b"\x07" * (3 * 1024 * 1024))
    small = tmp_path / "notes.txt"
    small.write_text("hello\n")
    form = page.locator("#upload-form")
    form.locator("input[name=name]").fill("Bob's corpus")
    form.locator("input[type=file]").set_input_files([str(big), str(small)])
    # Slow the upload down (Chrome's network emulation) so the progress bar can be seen moving.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1,
        "uploadThroughput": 1024 * 1024,
    })
    form.locator("button[type=submit]").click()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-upload-progress] progress');"
        " return p && p.value > 0 && p.value < p.max; }"
    )
    assert "%" in page.locator("[data-upload-status]").inner_text()
    page.screenshot(path=str(screenshots / "e2e-bob-uploading.png"), full_page=True)
    page.wait_for_url(re.compile(r".*/datasets/[0-9a-f-]{36}/$"))
    assert page.locator("text=Uploaded Bob's corpus").count() == 1
    page.screenshot(path=str(screenshots / "e2e-bob-dataset-detail.png"), full_page=True)

    page.get_by_role("link", name=re.compile("Datasets")).first.click()
    page.wait_for_selector("text=Bob's corpus")
    page.screenshot(path=str(screenshots / "e2e-bob-personal-datasets.png"), full_page=True)
    dataset = Dataset.objects.get(name="Bob's corpus")
    assert dataset.project == bob.owned_projects.get(is_personal=True)
    assert (dataset.file_count, dataset.size_bytes) == (2, 3 * 1024 * 1024 + 6)
