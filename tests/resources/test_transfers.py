"""Big transfers on the server: an upload is written once (the temporary upload is moved into
place), and a download announces its exact length, so a cut one is an error to the client."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.api_keys import api_key_create
from projects.middleware import SESSION_KEY
from resources import services, storage
from resources.models import Dataset

API = "/api/v1"
BIG = 12 * 1024 * 1024  # over FILE_UPLOAD_MAX_MEMORY_SIZE: Django spools it to a temporary file


def _auth(user, project) -> dict:
    return {"Authorization": f"Bearer {api_key_create(user=user, name='t')[1]}",
            "X-Trainshed-Project": str(project.pk)}


def _written_bytes() -> int:
    """Bytes this process has caused to be written to storage (Linux accounting)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes in /proc/self/io")


@pytest.fixture
def spool_on_media(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "media" / ".incoming"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir(parents=True)
    return settings.FILE_UPLOAD_TEMP_DIR


def _stored(dataset: Dataset, settings) -> dict[str, bytes]:
    root = Path(settings.MEDIA_ROOT) / dataset.storage_prefix
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_an_api_upload_writes_each_byte_once(client, owner, project, settings, spool_on_media):
    payload = bytes(range(256)) * (BIG // 256)
    before = _written_bytes()
    response = client.post(f"{API}/datasets", headers=_auth(owner, project), data={
        "name": "big", "files": [SimpleUploadedFile("big.bin", payload)]})
    written = _written_bytes() - before
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert (dataset.size_bytes, dataset.file_count) == (BIG, 1)
    assert _stored(dataset, settings) == {"big.bin": payload}
    # Spooled once while it arrived, then renamed into place: not a second copy (was 2×).
    assert BIG <= written < 1.2 * BIG, written
    assert list(spool_on_media.iterdir()) == []  # nothing left behind in the spool


def test_a_browser_form_upload_writes_each_byte_once(client, owner, project, settings, spool_on_media):
    payload = b"\x07" * BIG
    client.force_login(owner)
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    before = _written_bytes()
    response = client.post(reverse("resources:dataset-create"), data={
        "name": "from the form", "active_project_id": str(project.pk),
        "files": [SimpleUploadedFile("one.bin", payload), SimpleUploadedFile("two.txt", b"two\n")],
    })
    written = _written_bytes() - before
    assert response.status_code == 302, response.content[:2000]
    dataset = Dataset.objects.get(name="from the form")
    assert _stored(dataset, settings) == {"one.bin": payload, "two.txt": b"two\n"}
    assert BIG <= written < 1.2 * BIG, written


def test_a_lying_archive_member_is_refused_with_its_name(owner, project, settings):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"a" * 100)
        zf.writestr("b.txt", b"b" * 100)
    entries = storage.entries_from_archive(io.BytesIO(buf.getvalue()), "x.zip")
    entries[1].size = 10  # the archive claims 10 bytes for a member of 100
    with pytest.raises(ValidationError, match="“b.txt” holds more bytes than its archive says"):
        services.dataset_create_from_entries(project=project, name="x", entries=entries, created_by=owner)
    assert not Dataset.objects.exists()
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []


NAMES = [
    "plain.txt", "empty", "folder/deeper/file.bin", "ünïcödé/файл.txt",
    "long/" + "n" * 150 + ".dat",
]


@pytest.mark.parametrize("count", [1, 5, 70])
def test_zip_length_is_the_length_of_the_zip(count):
    files = [(f"{i}-{NAMES[i % len(NAMES)]}", (i * 7919) % 3000 if i % 5 != 1 else 0) for i in range(count)]
    store_root = {}

    class Memory(storage.default_storage.__class__):
        def _open(self, name, mode="rb"):
            return io.BytesIO(store_root[name])

    for path, size in files:
        store_root["p/" + path] = bytes([len(path) % 256]) * size
    blob = b"".join(storage.stream_zip("p/", files, Memory()))
    assert len(blob) == storage.zip_length(files)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert [(i.filename, i.file_size) for i in zf.infolist()] == files


def _upload(client, owner, project, files: dict[str, bytes]) -> dict:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    response = client.post(f"{API}/datasets", headers=_auth(owner, project), data={
        "name": "tree", "files": [SimpleUploadedFile("tree.zip", buf.getvalue())]})
    assert response.status_code == 201, response.content
    return response.json()


FILES = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 40, "sub/ünï/c": b"",
         "long/" + "x" * 180: b"long name\n"}


def test_api_download_as_tar_has_its_length_and_file_count(client, owner, project):
    body = _upload(client, owner, project, FILES)
    response = client.get(f"{API}/datasets/{body['id']}/download?format=tar",
                          headers=_auth(owner, project))
    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    blob = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(blob)
    assert response["X-Trainshed-Files"] == "4"
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r|") as tf:
        assert {m.name: tf.extractfile(m).read() for m in tf} == FILES


@pytest.mark.parametrize("where", ["api", "web"])
def test_zip_download_announces_its_exact_length(client, owner, project, where):
    body = _upload(client, owner, project, FILES)
    if where == "api":
        response = client.get(f"{API}/datasets/{body['id']}/download", headers=_auth(owner, project))
    else:
        client.force_login(owner)
        session = client.session
        session[SESSION_KEY] = str(project.pk)
        session.save()
        response = client.get(reverse("resources:dataset-download", args=[body["id"]]))
    blob = b"".join(response.streaming_content)
    assert response.status_code == 200 and int(response["Content-Length"]) == len(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == FILES


def test_a_file_shorter_than_its_row_cuts_the_download(client, owner, project, settings):
    body = _upload(client, owner, project, FILES)
    dataset = Dataset.objects.get(pk=body["id"])
    (Path(settings.MEDIA_ROOT) / dataset.storage_prefix / "sub/b.bin").write_bytes(b"short")
    response = client.get(f"{API}/datasets/{body['id']}/download?format=tar",
                          headers=_auth(owner, project))
    chunks = iter(response.streaming_content)
    with pytest.raises(OSError, match="shorter in storage than its row says"):
        for _chunk in chunks:
            pass
