"""The SDK/CLI unpacks a downloaded tar as its pieces arrive, whatever their sizes: PAX and GNU
headers, long and non-ASCII names, folders and empty files arrive whole; a tar cut in a member or
holding an unsafe entry is an error that leaves no file behind."""

import os
import tarfile

import pytest
from trainshed.errors import TrainshedError
from trainshed.resources import _Unpacker

from tests.tarballs import tar_bytes as _tar


@pytest.fixture(scope="module", autouse=True)
def _data_migrations_at_start():
    """No database here (overrides the project's session fixture, which needs one)."""


FILES = {"labels.csv": b"id,label\n" + b"1,cat\n" * 20_000, "images/cat.jpg": os.urandom(300_000),
         "images/\u00fcn\u00ef/" + "n" * 150: b"long name", "empty": b"", "gnu/" + "g" * 120: b"gnu long"}


def _feed(unpacker: _Unpacker, body: bytes, piece: int) -> None:
    for start in range(0, len(body), piece):
        unpacker.write(body[start:start + piece])


def _tree(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("piece", [1, 511, 513, 65536, 10 ** 7])
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_a_tar_in_pieces_of_any_size_arrives_whole(tmp_path, piece, fmt):
    body = _tar(FILES, fmt=fmt, folders=["made/here"], global_pax={"comment": "x"} if fmt == tarfile.PAX_FORMAT
                else None)
    dest = tmp_path / "copy"
    unpacker = _Unpacker(dest)
    _feed(unpacker, body, piece)
    assert sorted(unpacker.finish()) == sorted(FILES)
    assert _tree(dest) == FILES
    assert (dest / "made" / "here").is_dir()
    assert os.listdir(tmp_path) == ["copy"]  # no hidden part folder left beside it


def test_into_an_existing_folder_files_are_replaced_and_others_kept(tmp_path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "labels.csv").write_bytes(b"old")
    (dest / "notes.txt").write_bytes(b"kept")
    unpacker = _Unpacker(dest)
    _feed(unpacker, _tar(FILES), 4096)
    unpacker.finish()
    assert _tree(dest) == {**FILES, "notes.txt": b"kept"}


@pytest.mark.parametrize("existing", [False, True])
def test_a_tar_cut_in_a_member_is_an_error_and_leaves_no_file(tmp_path, existing):
    body = _tar(FILES)
    dest = tmp_path / "copy"
    if existing:
        dest.mkdir()
        (dest / "notes.txt").write_bytes(b"kept")
    unpacker = _Unpacker(dest)
    _feed(unpacker, body[:body.index(FILES["images/cat.jpg"][:4096]) + 1000], 65536)
    with pytest.raises(TrainshedError, match="not a whole tar archive"):
        unpacker.finish()
    if existing:  # the whole files before the cut are there; no part of the cut one
        assert _tree(dest) == {"notes.txt": b"kept", "labels.csv": FILES["labels.csv"]}
    else:
        assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("files", "symlinks"), [({"ok": b"1", "../evil": b"2"}, None),
                                                 ({"ok": b"1"}, {"link": "/etc/passwd"})])
def test_an_unsafe_entry_is_refused_and_a_new_folder_not_made(tmp_path, files, symlinks):
    dest = tmp_path / "copy"
    unpacker = _Unpacker(dest)
    with pytest.raises(TrainshedError, match="Refused the unsafe entry"):
        _feed(unpacker, _tar(files, symlinks=symlinks), 1000)
    unpacker.finish(raise_error=False)
    assert os.listdir(tmp_path) == []
