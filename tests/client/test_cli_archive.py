"""The CLI packs a folder without deflating what deflate cannot shrink."""

import os
import zipfile

import pytest
from trainshed.resources import _zip_folder


@pytest.fixture(scope="module", autouse=True)
def _data_migrations_at_start():
    """No database here (overrides the project's session fixture, which needs one)."""


def test_compressed_data_is_stored_and_text_is_deflated(tmp_path):
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "cat.JPG").write_bytes(b"\xff\xd8" + b"a" * 100_000)  # by its extension
    (folder / "noise.bin").write_bytes(os.urandom(200_000))  # by its bytes: deflate cannot shrink it
    (folder / "labels.csv").write_text("id,label\n" + "1,cat\n" * 20_000)
    archive = tmp_path / "up.zip"

    assert _zip_folder(folder, archive) == 3

    with zipfile.ZipFile(archive) as zf:
        kinds = {i.filename: i.compress_type for i in zf.infolist()}
        assert kinds == {"images/cat.JPG": zipfile.ZIP_STORED, "noise.bin": zipfile.ZIP_STORED,
                         "labels.csv": zipfile.ZIP_DEFLATED}
        assert zf.read("noise.bin") == (folder / "noise.bin").read_bytes()
        assert zf.getinfo("labels.csv").compress_size < zf.getinfo("labels.csv").file_size / 10
