"""compute.relay: the control plane's AgentStorage against a real agent RelayServer (a thread on
127.0.0.1:0), alone and through resources/storage.py, so a dataset's files live on the node."""

import hashlib
import io
import os
import socket
import tarfile
import time
import tracemalloc
import uuid
import zipfile

import httpx
import pytest
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.http import FileResponse
from trainshed.agent import relay as agent

from compute.relay import AgentStorage, notebook_ticket, notebook_url, sign_headers
from resources import storage

SECRET = b"node-7-relay-secret"


@pytest.fixture(scope="module", autouse=True)
def _data_migrations_at_start():
    """No database here: the storage talks HTTP only (overrides the project's session fixture,
    which would otherwise need a test database that no test of this module asks for)."""


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "node-storage"
    root.mkdir()
    state = {"secret": SECRET}
    server = agent.RelayServer(host="127.0.0.1", port=0, storage_root=root, secret=lambda: state["secret"],
                               access_check=lambda job, user: True, target_for=lambda job: None)
    server.start()
    server.root, server.state = root, state
    yield server
    server.stop()


@pytest.fixture
def store(node):
    s = AgentStorage(node.url, SECRET, name="node-7")
    yield s
    s.close()


class Unsized:
    """A stream whose size nobody knows (like resources.storage's counting reader)."""

    def __init__(self, data):
        self.raw = io.BytesIO(data)

    def read(self, n=-1):
        return self.raw.read(n)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_signatures_agree_with_the_agent():
    headers = sign_headers(SECRET, "put", "/files/a%20b?x=1", ttl=60)
    expires = headers["X-Trainshed-Expires"]
    assert int(expires) - time.time() <= 60
    assert headers["X-Trainshed-Signature"] == agent.request_signature(SECRET, "PUT", "/files/a%20b?x=1", expires)
    with_body = sign_headers(SECRET, "PUT", "/files/m.bin", length=1000)
    expires = with_body["X-Trainshed-Expires"]
    assert with_body["X-Trainshed-Signature"] == agent.request_signature(SECRET, "PUT", "/files/m.bin", expires, 1000)
    assert with_body["X-Trainshed-Signature"] != agent.request_signature(SECRET, "PUT", "/files/m.bin", expires, 10)
    job = uuid.uuid4()
    ticket = notebook_ticket(SECRET, user_id=42, job_id=job)
    assert agent.check_token(SECRET, "notebook", ticket, job_id=str(job), now=time.time(),
                             max_ahead=agent.MAX_AHEAD) == "42"
    assert agent.check_token(SECRET, "session", ticket, job_id=str(job), now=time.time(),
                             max_ahead=agent.MAX_AHEAD) is None
    with pytest.raises(ValueError):
        notebook_ticket(SECRET, user_id=1, job_id=job, ttl=3600)  # the agent would refuse it
    with pytest.raises(ValueError):
        notebook_ticket(SECRET, user_id="a.b", job_id=job)


def test_notebook_url_opens_on_the_agent(node):
    job = uuid.uuid4()
    r = httpx.get(notebook_url(node.url, SECRET, user_id=3, job_id=job))
    assert r.status_code == 302 and r.headers["location"] == f"/notebook/{job}/"
    assert r.headers["set-cookie"].startswith(f"trainshed_nb=3.{job}.")


def test_save_open_exists_size_delete(store, node):
    assert not store.exists("datasets/p/1/a b/ünï.csv")
    assert store.save("datasets/p/1/a b/ünï.csv", ContentFile(b"x,y\n1,2\n")) == "datasets/p/1/a b/ünï.csv"
    assert (node.root / "datasets/p/1/a b/ünï.csv").read_bytes() == b"x,y\n1,2\n"
    assert store.exists("datasets/p/1/a b/ünï.csv")
    assert store.size("datasets/p/1/a b/ünï.csv") == 8
    assert store.get_modified_time("datasets/p/1/a b/ünï.csv").tzinfo is not None
    with store.open("datasets/p/1/a b/ünï.csv") as f:
        assert f.read() == b"x,y\n1,2\n"
    # a name already taken gets Django's usual alternative name (write_tree refuses that)
    other = store.save("datasets/p/1/a b/ünï.csv", ContentFile(b"2"))
    assert other != "datasets/p/1/a b/ünï.csv" and store.exists(other)
    store.delete("datasets/p/1/a b/ünï.csv")
    store.delete(other)
    store.delete("datasets/p/1/never-there.csv")  # missing: fine
    assert not store.exists("datasets/p/1/a b/ünï.csv")
    assert os.listdir(node.root) == []


def test_unknown_size_is_spooled_then_sent(store, node):
    data = os.urandom(3 * 1024 * 1024 + 17)
    store.save("m/unsized.bin", File(Unsized(data), name="unsized.bin"))
    assert (node.root / "m/unsized.bin").read_bytes() == data


# response.close() sends request_finished, whose handler closes old database connections.
@pytest.mark.django_db
def test_open_streams_reads_and_seeks(store, node):
    data = bytes(range(256)) * 4096  # 1 MiB
    (node.root / "d").mkdir()
    (node.root / "d/f.bin").write_bytes(data)
    f = store.open("d/f.bin")
    assert f.size == len(data)
    assert f.read(10) == data[:10]
    f.seek(500_000)
    assert f.read(5) == data[500_000:500_005]
    f.seek(3)  # backwards: a new ranged request
    assert f.read(4) == data[3:7]
    f.seek(-2, io.SEEK_END)
    assert f.read() == data[-2:]
    assert f.read(1) == b""
    f.close()
    # Django's FileResponse learns the length by seeking, then streams
    response = FileResponse(store.open("d/f.bin"), as_attachment=True, filename="f.bin")
    assert response["Content-Length"] == str(len(data))
    assert b"".join(response.streaming_content) == data
    response.close()
    # a zip kept on the node is readable at random
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner/a.txt", "alpha")
        zf.writestr("b.txt", "beta")
    store.save("d/archive.zip", ContentFile(buf.getvalue()))
    with store.open("d/archive.zip") as f, zipfile.ZipFile(f) as zf:
        assert zf.read("b.txt") == b"beta" and zf.read("inner/a.txt") == b"alpha"


def test_missing_files_and_folders(store):
    with pytest.raises(FileNotFoundError):
        store.open("nope.bin")
    with pytest.raises(FileNotFoundError):
        store.size("nope.bin")
    with pytest.raises(FileNotFoundError):
        store.listdir("nope/")
    assert store.listdir("") == ([], [])
    with pytest.raises(NotImplementedError):
        store.path("x")
    with pytest.raises(ValueError):
        store.open("x", "wb")


def test_unsafe_names_are_refused_by_the_node(store, node, tmp_path):
    (node.root / "out").symlink_to(tmp_path)
    with pytest.raises(SuspiciousFileOperation):
        store.save("a/../../x", ContentFile(b"x"))  # Django refuses it before any request
    with pytest.raises(PermissionError):
        store.save("out/escape.txt", ContentFile(b"x"))  # the node refuses the symlink
    assert not (tmp_path / "escape.txt").exists()


def test_large_file_round_trip_in_flat_memory(store, node, tmp_path):
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with src.open("wb") as f:
        for _ in range(20):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            f.write(block)
    tracemalloc.start()
    try:
        with src.open("rb") as f:
            store.save("models/big.bin", File(f))
        got = hashlib.sha256()
        with store.open("models/big.bin") as f:
            while data := f.read(storage.CHUNK):
                got.update(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.hexdigest() == digest.hexdigest()
    assert hashlib.sha256((node.root / "models/big.bin").read_bytes()).hexdigest() == digest.hexdigest()
    assert peak < 8 * 1024 * 1024, peak  # 20 MB went through, a few chunks at a time


def test_a_dataset_round_trips_through_resources_storage(store, node, tmp_path, settings):
    """write_tree / listdir / open_file / stream_zip / delete_tree, as the dataset services use
    them: the files land under the node's storage root and nowhere under MEDIA_ROOT."""
    folder = tmp_path / "upload"
    (folder / "images/cats").mkdir(parents=True)
    files = {"train.csv": b"a,b\n1,2\n", "images/cats/1.png": os.urandom(300_000),
             "images/readme.txt": "ünïcode".encode()}
    for path, data in files.items():
        (folder / path).write_bytes(data)
    prefix = "datasets/proj-1/ds-9/"

    written = storage.write_tree(prefix, storage.entries_from_folder(folder), store)
    assert dict(written) == {p: len(d) for p, d in files.items()}
    assert files_under(node.root) == sorted(prefix + p for p in files)
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))

    assert store.listdir(prefix) == (["images"], ["train.csv"])
    assert store.listdir(prefix + "images/") == (["cats"], ["readme.txt"])
    for path, data in files.items():
        with storage.open_file(prefix, path, store) as f:
            assert f.read() == data

    sized = [(p, len(d)) for p, d in files.items()]
    blob = b"".join(storage.stream_zip(prefix, sized, store))
    assert len(blob) == storage.zip_length(sized)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files
    blob = b"".join(storage.stream_tar(prefix, storage.tar_members(sized, 0), store))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tf:
        assert {m.name: tf.extractfile(m).read() for m in tf} == files

    storage.delete_tree(prefix, store)
    assert files_under(node.root) == []
    assert os.listdir(node.root) == []  # the folders went too


def test_an_archive_upload_goes_to_the_node(store, node, settings):
    """Archive members are sent with the size their archive claims (streamed, not spooled) and
    counted as they are read: a member that lies about its size, or an upload over the limit, is
    refused before anything is kept."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/one.txt", "1" * 1000)
        zf.writestr("two.txt", "2" * 10)
    buf.seek(0)
    entries = storage.entries_from_archive(buf, "data.zip")
    assert storage.write_tree("datasets/p/z/", entries, store) == [("a/one.txt", 1000), ("two.txt", 10)]
    assert (node.root / "datasets/p/z/a/one.txt").read_text() == "1" * 1000

    settings.TRAINSHED_MAX_UPLOAD_BYTES = 500
    buf.seek(0)
    # the zip claims sizes within the limit for nothing here; the counting reader trips on the
    # bytes themselves, before anything is sent
    entries = storage.entries_from_archive(buf, "data.zip")
    for e in entries:
        e.size = 0  # an archive that lies about its sizes
    with pytest.raises(ValidationError):
        storage.write_tree("datasets/p/lying/", entries, store)
    # the relay handles the cut upload in its own thread: give it a moment to clean up
    for _ in range(100):
        if not (node.root / "datasets/p/lying").exists():
            break
        time.sleep(0.05)
    assert not (node.root / "datasets/p/lying").exists()


def test_unreachable_node_is_a_clear_oserror():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = AgentStorage(f"http://127.0.0.1:{port}", SECRET, name="node-7")
    started = time.time()
    with pytest.raises(OSError, match="The node “node-7” .* did not answer"):
        store.exists("x")
    with pytest.raises(OSError, match="did not answer"):
        store.save("x", ContentFile(b"1"))
    assert time.time() - started < 5


def test_wrong_or_unknown_secret(node):
    bad = AgentStorage(node.url, b"stale secret", name="node-7")
    with pytest.raises(PermissionError, match="relay secret"):
        bad.save("x.txt", ContentFile(b"1"))
    with pytest.raises(PermissionError):
        bad.open("x.txt")
    node.state["secret"] = None
    good = AgentStorage(node.url, SECRET)
    with pytest.raises(OSError, match="503"):
        good.listdir("")
    assert not os.listdir(node.root)


def test_prefix_scopes_every_name(node):
    store = AgentStorage(node.url, SECRET, prefix="tenant-a/")
    store.save("f.txt", ContentFile(b"1"))
    assert (node.root / "tenant-a/f.txt").read_bytes() == b"1"
    assert store.listdir("") == ([], ["f.txt"])
    store.delete("f.txt")
    assert os.listdir(node.root) == []


def test_an_upload_goes_to_the_node_written_once(store, node):
    """A received upload (Django's temporary file, its size known) streams to the node's relay:
    the node writes it once and nothing is spooled on the way (was: spooled, then sent)."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    data = os.urandom(12 * 1024 * 1024)  # over the relay's 8 MiB in-memory spool
    upload = TemporaryUploadedFile("big.bin", "application/octet-stream", len(data), None)
    upload.write(data)
    upload.flush()
    upload.seek(0)

    def written() -> int:  # the relay runs in this process: its writes count here too
        with open("/proc/self/io") as f:
            return int(next(li for li in f if li.startswith("write_bytes:")).split()[1])

    before = written()
    assert storage.write_tree("datasets/p/up/", storage.entries_from_uploads([upload]), store) == [
        ("big.bin", len(data))]
    assert len(data) <= written() - before < 1.2 * len(data)
    assert (node.root / "datasets/p/up/big.bin").read_bytes() == data
    upload.close()
