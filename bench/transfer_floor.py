"""The floor of bench/transfers.py, served by the same gunicorn as Trainshed: a bare WSGI upload
(the request body read in chunks and written once to a file) and a bare WSGI download (a file
sent with its length). Every other path goes to Trainshed. Only bench/transfers.py runs this."""

from __future__ import annotations

import os
from pathlib import Path

from config.wsgi import application as trainshed

CHUNK = 256 * 1024
FOLDER = Path(os.environ["BENCH_FLOOR_DIR"])


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/bench-floor/upload" and environ["REQUEST_METHOD"] == "POST":
        left, body = int(environ.get("CONTENT_LENGTH") or 0), environ["wsgi.input"]
        with open(FOLDER / "upload.bin", "wb") as out:
            while left and (data := body.read(min(CHUNK, left))):
                out.write(data)
                left -= len(data)
        start_response("204 No Content", [])
        return [b""]
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
