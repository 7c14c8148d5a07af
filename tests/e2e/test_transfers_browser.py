"""Alice uploads a large file through the dataset form in a real browser and downloads the whole
dataset as a zip: the server writes the upload once, and the zip arrives whole, with its length."""

import io
import re
import zipfile
from pathlib import Path

import pytest

from resources.models import Dataset
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZE = 12 * 1024 * 1024  # over FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to a temporary file


def _written_bytes() -> int:
    text = Path("/proc/self/io").read_text()
    return int(re.search(r"^write_bytes: (\d+)", text, re.M).group(1))


def test_a_big_form_upload_is_written_once_and_downloads_whole(live_server, page, screenshots, settings,
                                                               tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "media" / ".incoming"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir(parents=True)
    alice = UserFactory(email="alice@example.com", name="Alice")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/$"))

    big = tmp_path / "weights.bin"
    big.write_bytes(bytes(range(256)) * (SIZE // 256))
    page.goto(f"{live_server.url}/datasets/new/")
    form = page.locator("#upload-form")
    form.locator("input[name=name]").fill("Weights")
    form.locator("input[type=file]").set_input_files([str(big)])
    before = _written_bytes()  # the live server runs in this process
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/datasets/[0-9a-f-]{36}/$"))
    written = _written_bytes() - before
    assert page.locator("text=Uploaded Weights").count() == 1
    assert SIZE <= written < 1.2 * SIZE, written  # spooled once, then renamed into place

    with page.expect_download() as info:
        page.get_by_role("button", name="Download all (.zip)").click()
    download = info.value
    assert download.failure() is None
    saved = tmp_path / "weights.zip"
    download.save_as(saved)
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as zf:
        assert zf.read("weights.bin") == big.read_bytes()
    page.screenshot(path=str(screenshots / "e2e-alice-big-upload-detail.png"), full_page=True)
    dataset = Dataset.objects.get(name="Weights")
    assert (dataset.file_count, dataset.size_bytes) == (1, SIZE)
