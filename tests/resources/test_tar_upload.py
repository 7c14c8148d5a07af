"""A folder uploaded as a tar stream (`POST /datasets/tar`, what the CLI sends): unpacked as it
arrives, each byte written once, and all or nothing — a bad member, a body over the limit or a cut
body answers a clear refusal and leaves no row and no file behind, on both storages."""

import io
import tarfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

from accounts.api_keys import api_key_create
from projects import services as project_services
from resources import storage
from resources.models import Dataset
from tests.factories import make_node
from tests.jobs_helpers import agent_for
from tests.tarballs import tar_bytes as _tar

from .test_transfers import _written_bytes

API = "/api/v1"
FILES = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 40, "sub/\u00fcn\u00ef/c": b"",
         "long/" + "x" * 180: b"long name\n"}


def _post(client, owner, project, body: bytes, *, name="tree", **extra):
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}",
               "X-Trainshed-Project": str(project.pk)}
    return client.generic("POST", f"{API}/datasets/tar?name={name}", body, content_type=storage.TAR_TYPE,
                          headers=headers, **extra)


def _media_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def _stored(dataset: Dataset, settings) -> dict[str, bytes]:
    root = Path(settings.MEDIA_ROOT) / dataset.storage_prefix
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_tar_upload_arrives_whole_with_its_rows(client, owner, project, settings):
    response = _post(client, owner, project, _tar(FILES))
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert _stored(dataset, settings) == FILES
    assert dict(dataset.files.values_list("path", "size_bytes")) == {p: len(d) for p, d in FILES.items()}
    assert (dataset.file_count, dataset.size_bytes) == (4, sum(len(d) for d in FILES.values()))


def test_a_tar_upload_writes_each_byte_once(client, owner, project, settings):
    files = {f"part-{i // 50}/{i:04d}.bin": bytes([i % 256]) * 64 * 1024 for i in range(200)}  # 12.5 MiB
    payload = sum(len(d) for d in files.values())
    body = _tar(files)
    before = _written_bytes()
    response = _post(client, owner, project, body)
    written = _written_bytes() - before
    assert response.status_code == 201, response.content
    assert _stored(Dataset.objects.get(pk=response.json()["id"]), settings) == files
    # Each member straight to its file: no spool of the body (a zip upload wrote it twice).
    assert payload <= written < 1.2 * payload, written


@pytest.mark.parametrize(("files", "links", "said"), [
    ({"ok.txt": b"x", "../evil.txt": b"y"}, None, "Refused the unsafe file name “../evil.txt”"),
    ({"ok.txt": b"x", "/etc/evil": b"y"}, None, "Refused the unsafe file name “/etc/evil”"),
    ({"ok.txt": b"x"}, {"link": "/etc/passwd"}, "The archive holds a link, “link”"),
    ({"a": b"x", "a/b": b"y"}, None, "“a” is both a file and a folder in the upload"),
    ({"d/x": b"x", "d": b"y"}, None, "“d” is both a file and a folder in the upload"),
    ({}, None, "The upload is empty"),
])
def test_a_bad_member_refuses_the_whole_upload(client, owner, project, settings, files, links, said):
    response = _post(client, owner, project, _tar(files, symlinks=links))
    assert response.status_code == 400, response.content
    assert said in response.json()["detail"]
    assert not Dataset.objects.exists()
    assert _media_files(settings) == []


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, owner, project, settings):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 1000
    response = _post(client, owner, project, _tar({"big.bin": b"x" * (2 * 1024 * 1024)}))
    assert response.status_code == 413
    assert "the limit is 1000 bytes" in response.json()["detail"]
    assert not Dataset.objects.exists() and _media_files(settings) == []


def test_members_over_the_limit_are_refused_as_they_arrive(client, owner, project, settings):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 100_000
    response = _post(client, owner, project, _tar({"a.bin": b"a" * 60_000, "b.bin": b"b" * 60_000}))
    assert response.status_code == 400
    assert "larger than the limit of 97.7 KB" in response.json()["detail"]
    assert not Dataset.objects.exists() and _media_files(settings) == []


class _Broken(io.BytesIO):
    """A connection that breaks after its bytes."""

    def read(self, size=-1):
        data = super().read(size)
        if not data:
            raise ConnectionResetError("the client went away")
        return data


@pytest.mark.parametrize("where", ["in a member", "between members", "a broken connection"])
def test_a_cut_body_is_refused_and_leaves_nothing(client, owner, project, settings, where):
    body = _tar({"a.bin": b"a" * 3000, "b.bin": b"b" * 3000})
    if where == "in a member":
        sent = io.BytesIO(body[:5000])
    elif where == "between members":
        sent = io.BytesIO(body[:body.index(b"b" * 3000) - 512])  # right before b.bin's header
        with tarfile.open(fileobj=io.BytesIO(sent.getvalue()), mode="r|") as alone:
            assert [m.name for m in alone] == ["a.bin"]  # a whole tar on its own: only the length tells
    else:
        sent = _Broken(body[:5000])
    response = _post(client, owner, project, b"", CONTENT_LENGTH=str(len(body)), CONTENT_TYPE=storage.TAR_TYPE,
                     **{"wsgi.input": sent})
    assert response.status_code == 400, response.content
    assert f"The upload was cut off after {len(sent.getvalue()):,} of {len(body):,} bytes" \
        in response.json()["detail"]
    assert not Dataset.objects.exists() and _media_files(settings) == []


def test_a_tar_needs_its_content_type(client, owner, project):
    headers = {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}"}
    response = client.generic("POST", f"{API}/datasets/tar?name=x", _tar(FILES),
                              content_type="application/zip", headers=headers)
    assert response.status_code == 400
    assert "application/x-tar" in response.json()["detail"]


@pytest.mark.parametrize("backend", [storage.LocalStorage, FileSystemStorage])
def test_write_tar_stream_on_local_storages(tmp_path, backend):
    """Our storage's fast write and Django's own `save` store the same tree."""
    store = backend(location=tmp_path)
    written = storage.write_tar_stream("p/", io.BytesIO(_tar(FILES)), store)
    assert dict(written) == {p: len(d) for p, d in FILES.items()}
    assert {p: (tmp_path / "p" / p).read_bytes() for p in FILES} == FILES
    with pytest.raises(ValidationError, match="unsafe file name"):
        storage.write_tar_stream("q/", io.BytesIO(_tar({"x": b"1", "../y": b"2"})), store)
    assert not (tmp_path / "q").exists()


def test_save_new_refuses_to_overwrite(tmp_path):
    store = storage.LocalStorage(location=tmp_path)
    assert store.save_new("a/b.txt", io.BytesIO(b"one")) == 3
    with pytest.raises(FileExistsError):
        store.save_new("a/b.txt", io.BytesIO(b"two"))
    assert (tmp_path / "a/b.txt").read_bytes() == b"one"


def test_a_tar_upload_to_a_node_goes_through_its_relay(client, owner, project, tmp_path, settings):
    node = make_node(owner=owner, name="workstation")
    agent = agent_for(node, tmp_path, serve=True)
    try:
        project_services.project_settings_update(project=project, actor=owner, owned_compute_only=True)
        response = _post(client, owner, project, _tar(FILES))
        assert response.status_code == 201, response.content
        node_dir = tmp_path / "agent" / "files"
        dataset = Dataset.objects.get(pk=response.json()["id"])
        assert dataset.location == "node"
        on_node = {p.relative_to(node_dir).as_posix(): p.read_bytes() for p in node_dir.rglob("*")
                   if p.is_file()}
        assert on_node == {dataset.storage_prefix + p: d for p, d in FILES.items()}
        bad = _post(client, owner, project, _tar({"z.txt": b"z", "../y": b"2"}), name="bad")
        assert bad.status_code == 400 and "unsafe file name" in bad.json()["detail"]
        assert Dataset.objects.count() == 1
        assert {p.relative_to(node_dir).as_posix() for p in node_dir.rglob("*") if p.is_file()} == set(on_node)
    finally:
        agent.relay.stop()


class _Trickle(io.BytesIO):
    """A body that arrives in small pieces, as a slow connection hands it over."""

    def read(self, size=-1):
        return super().read(min(size, 700) if size and size > 0 else 700)


@pytest.mark.parametrize("backend", [storage.LocalStorage, FileSystemStorage])
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_a_tar_stream_in_small_pieces_arrives_whole(tmp_path, backend, fmt):
    """Headers and members split across the body's pieces, PAX records (a global one too) and GNU
    long names: every file as it was sent."""
    files = {**FILES, "gnu/" + "g" * 120: b"g" * 5000}
    body = _tar(files, fmt=fmt, folders=["made"],
                global_pax={"comment": "made here"} if fmt == tarfile.PAX_FORMAT else None)
    store = backend(location=tmp_path)
    written = storage.write_tar_stream("p/", _Trickle(body), store, length=len(body))
    assert dict(written) == {p: len(d) for p, d in files.items()}
    assert {p: (tmp_path / "p" / p).read_bytes() for p in files} == files
