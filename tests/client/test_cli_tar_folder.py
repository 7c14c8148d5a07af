"""The CLI sends a folder as a tar made while it is sent: exactly the announced length, the
folder's regular files with their relative paths, nothing deflated, symbolic links skipped."""

import asyncio
import io
import os
import tarfile

import pytest
from trainshed.errors import TrainshedError
from trainshed.resources import _TarFolder


@pytest.fixture(scope="module", autouse=True)
def _data_migrations_at_start():
    """No database here (overrides the project's session fixture, which needs one)."""


def _body(tar: _TarFolder, progress=None) -> bytes:
    async def collect():
        return b"".join([chunk async for chunk in tar.chunks(progress)])

    return asyncio.run(collect())


def test_the_tar_holds_the_folder_and_has_its_announced_length(tmp_path):
    folder = tmp_path / "data"
    (folder / "images" / "ünï").mkdir(parents=True)
    files = {"labels.csv": b"id,label\n" + b"1,cat\n" * 20_000, "images/cat.jpg": os.urandom(300_000),
             "images/ünï/" + "n" * 150: b"long name", "empty": b""}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "link").symlink_to(folder / "labels.csv")
    tar = _TarFolder(folder)
    seen = []
    body = _body(tar, lambda n, total: seen.append((n, total)))
    assert len(body) == tar.length and len(tar) == 4
    assert sum(n for n, _ in seen) == tar.length and {t for _, t in seen} == {tar.length}
    assert len(seen) < 5  # one progress call per chunk sent, not per file
    with tarfile.open(fileobj=io.BytesIO(body), mode="r|") as tf:
        assert {m.name: tf.extractfile(m).read() for m in tf} == files


def test_a_file_that_shrinks_while_it_is_sent_is_an_error(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"a" * 1000)
    tar = _TarFolder(tmp_path)
    (tmp_path / "a.bin").write_bytes(b"a" * 10)
    with pytest.raises(TrainshedError, match="changed while it was uploaded"):
        _body(tar)


def test_one_file_goes_as_a_tar_of_itself(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"w" * 1000)
    tar = _TarFolder(file=tmp_path / "weights.bin")
    body = _body(tar)
    assert len(body) == tar.length
    with tarfile.open(fileobj=io.BytesIO(body), mode="r|") as tf:
        assert {m.name: tf.extractfile(m).read() for m in tf} == {"weights.bin": b"w" * 1000}
