"""The floor of bench/transfers.py, served by the same gunicorn as Trainshed: a bare WSGI upload
(the request body read in chunks and written once to a file), a bare WSGI download (a file sent
with its length), and for folders of files the same with one file per member: a tar body unpacked
into files, and the files of a folder sent as a tar. Every other path goes to Trainshed. Only
bench/transfers.py runs this."""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from django.urls import get_resolver

from config.wsgi import application as trainshed

# Each worker loads the URLconf (and the API's routes) now, as a long-running worker has: else the
# first request a worker serves pays ~0.4 s of CPU for it, and a subject's row carries it by chance.
_ = get_resolver().url_patterns

CHUNK = 256 * 1024
FOLDER = Path(os.environ["BENCH_FLOOR_DIR"])


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/bench-floor/upload" and environ["REQUEST_METHOD"] == "POST":
        left, body = int(environ.get("CONTENT_LENGTH") or 0), environ["wsgi.input"]
        # a new file each time, as each subject makes (truncating the last one would drop its
        # pages unwritten, which no subject gets to do)
        with tempfile.NamedTemporaryFile(dir=FOLDER, prefix="upload-", delete=False) as out:
            while left and (data := body.read(min(CHUNK, left))):
                out.write(data)
                left -= len(data)
        start_response("204 No Content", [])
        return [b""]
    if path == "/bench-floor/unpack" and environ["REQUEST_METHOD"] == "POST":
        # a new folder each time, as each subject makes (deleting the last one's files is not part
        # of an upload)
        unpack(environ["wsgi.input"], Path(tempfile.mkdtemp(dir=FOLDER, prefix="unpacked-")))
        start_response("204 No Content", [])
        return [b""]
    if path.startswith("/bench-floor/tar/"):
        members = tar_members(FOLDER / Path(path).name)
        length = sum(len(h) + size + -size % tarfile.BLOCKSIZE for _p, h, size in members) + 1024
        start_response("200 OK", [("Content-Type", "application/x-tar"), ("Content-Length", str(length))])
        return tar_stream(members)
    if path.startswith("/bench-floor/files/"):
        file = FOLDER / Path(path).name
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(file.stat().st_size))])
        handle = file.open("rb")
        # streamed by Python in chunks, as Trainshed's downloads are (not sendfile)
        return _chunks(handle)
    return trainshed(environ, start_response)


def _chunks(handle):
    with handle:
        while data := handle.read(CHUNK):
            yield data


def unpack(stream, folder: Path) -> None:
    """A tar read from `stream` as it arrives, each regular member written to its own new file."""
    made = set()
    with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as archive:
        for member in archive:
            if not member.isreg():
                continue
            target = folder / member.name
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            src = archive.extractfile(member)
            with open(target, "wb") as out:
                while data := src.read(CHUNK):
                    out.write(data)


def tar_members(folder: Path) -> list[tuple[Path, bytes, int]]:
    out = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = tarfile.TarInfo(file.relative_to(folder).as_posix())
        info.size = file.stat().st_size
        out.append((file, info.tobuf(format=tarfile.PAX_FORMAT), info.size))
    return out


def tar_stream(members):
    batch = bytearray()
    for file, header, size in members:
        batch += header
        with open(file, "rb") as f:
            batch += f.read()
        batch += bytes(-size % tarfile.BLOCKSIZE)
        if len(batch) >= CHUNK:
            yield bytes(batch)
            batch.clear()
    yield bytes(batch) + bytes(1024)
