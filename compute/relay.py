"""The control plane's side of a node agent's HTTP server (client/trainshed/agent/relay.py): signed
requests to its file relay, a Django Storage over them, and tickets for its notebook proxy.

    headers = sign_headers(secret, "GET", "/files/datasets/x?list=1")   # ttl=300 s
    ticket = notebook_ticket(secret, user_id=user.pk, job_id=job.pk)     # ttl=120 s (≤ 600)
    store = AgentStorage("http://node-7.internal:8040", secret, name="node-7")
    store.save("datasets/p/id/train.csv", uploaded_file)   # the bytes land on the node, not here

The scheme is repeated here rather than imported: the server does not depend on the client
package. tests/compute/test_agent_storage.py proves both sides agree.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import tempfile
import time
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import Storage
from django.utils import timezone

CHUNK = 256 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # an upload of unknown size is kept in memory up to this, then on disk
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_TICKET_TTL = 600  # the agent refuses a signature or ticket expiring further ahead
_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def sign_headers(secret: bytes, method: str, path: str, ttl: int = 300, length: int = 0) -> dict[str, str]:
    """The headers that let one `method` on the raw `path` (query included), with a body of
    `length` bytes (its Content-Length), through an agent's file relay until now + ttl."""
    if not 0 < ttl <= MAX_TICKET_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TICKET_TTL} seconds")
    expires = str(int(time.time()) + ttl)
    message = f"{method.upper()}\n{path}\n{expires}\n{int(length)}".encode()
    return {"X-Trainshed-Expires": expires,
            "X-Trainshed-Signature": hmac.new(secret, message, hashlib.sha256).hexdigest()}


def notebook_ticket(secret: bytes, *, user_id, job_id, ttl: int = 120) -> str:
    """A one-shot-ish entry to a job's notebook on its agent (the agent swaps it for its own
    session cookie, then asks the control plane on every request)."""
    if not 0 < ttl <= MAX_TICKET_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TICKET_TTL} seconds")
    user_id, job_id = str(user_id), str(uuid.UUID(str(job_id)))
    if not _USER_ID.fullmatch(user_id):
        raise ValueError("user_id must be letters, digits, - or _")
    expires = int(time.time()) + ttl
    message = f"notebook\n{user_id}\n{job_id}\n{expires}".encode()
    return f"{user_id}.{job_id}.{expires}.{hmac.new(secret, message, hashlib.sha256).hexdigest()}"


def notebook_url(agent_url: str, secret: bytes, *, user_id, job_id, ttl: int = 120) -> str:
    """Where the browser is sent to open a job's notebook on its agent."""
    ticket = notebook_ticket(secret, user_id=user_id, job_id=job_id, ttl=ttl)
    return f"{agent_url.rstrip('/')}/notebook/{uuid.UUID(str(job_id))}/?trainshed_ticket={ticket}"


class AgentStorage(Storage):
    """Files kept on a node, through its agent's file relay (never on this server's disk).

    Uploads need a length: a `content` whose `.size` is None (e.g. an archive's member, counted as
    it is read) is first spooled — in memory up to 8 MiB, then in a temporary file — and then sent.
    Opened files stream, and seek with Range requests (so FileResponse sends a Content-Length and
    zipfile can read a stored zip). Errors: FileNotFoundError on 404, SuspiciousFileOperation for
    a key the agent refuses, PermissionError for a signature it refuses, OSError naming the node
    when it does not answer or answers with an error.
    """

    def __init__(self, base_url: str, secret: bytes, prefix: str = "", *, name: str | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.prefix = prefix
        self.label = f"“{name}” ({self.base_url})" if name else self.base_url
        self._http = httpx.Client(base_url=self.base_url, timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self._http.close()

    # ---- requests ----

    def _path(self, name: str, *, folder: bool = False) -> str:
        key = self.prefix + str(name).replace("\\", "/") if name else self.prefix
        if folder:
            key = key if key == "" or key.endswith("/") else key + "/"
            return "/files/" + quote(key, safe="/") + "?list=1"
        return "/files/" + quote(key, safe="/")

    def _request(self, method: str, path: str, *, stream: bool = False, headers=None, content=None):
        length = (headers or {}).get("Content-Length") or (len(content) if isinstance(content, bytes) else 0)
        headers = {**(headers or {}), **sign_headers(self.secret, method, path, length=int(length))}
        request = self._http.build_request(method, path, content=content, headers=headers)
        try:
            return self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise OSError(f"The node {self.label} did not answer ({type(exc).__name__}: {exc}).") from exc

    def _check(self, response: httpx.Response, name: str, *ok: int) -> httpx.Response:
        if response.status_code in ok:
            return response
        if not response.is_stream_consumed:  # a streamed error: its (short) JSON body
            try:
                response.read()
            finally:
                response.close()
        try:
            message = response.json().get("error") or response.text
        except ValueError:
            message = response.text[:200]
        status = response.status_code
        if status == 404:
            raise FileNotFoundError(f"“{name}” is not on the node {self.label}.")
        if status == 400:
            raise SuspiciousFileOperation(f"The node {self.label} refused the name “{name}”: {message}")
        if status == 403:
            raise PermissionError(f"The node {self.label} refused the request ({message}): "
                                  f"is its relay secret current and its clock right?")
        raise OSError(f"The node {self.label} answered {status} for “{name}”: {message}")

    # ---- Storage ----

    def _save(self, name: str, content) -> str:
        try:
            size = content.size
        except AttributeError:
            size = None
        spool = None
        if size is None:
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
            for chunk in content.chunks(CHUNK):  # reading may raise (e.g. an upload over its limit)
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            body = iter(lambda: spool.read(CHUNK), b"")
        else:
            body = _exactly(content.chunks(CHUNK), size, name)
        try:
            response = self._request("PUT", self._path(name), content=body,
                                     headers={"Content-Length": str(size)})
            self._check(response, name, 201)
        finally:
            if spool is not None:
                spool.close()
        if response.json().get("size") != size:
            raise OSError(f"The node {self.label} stored {response.json().get('size')} bytes of "
                          f"“{name}”, not {size}.")
        return name

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            raise ValueError("Files on a node open for reading only (mode 'rb').")
        reader = AgentFile(self, name)
        f = File(io.BufferedReader(reader, buffer_size=CHUNK), name=name)
        f.size = reader.size  # else File would look for `name` on this machine's disk
        return f

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given.")
        self._check(self._request("DELETE", self._path(name)), name, 204)

    def exists(self, name: str) -> bool:
        response = self._request("HEAD", self._path(name))
        if response.status_code == 404:
            return False
        self._check(response, name, 200)
        return True

    def size(self, name: str) -> int:
        response = self._check(self._request("HEAD", self._path(name)), name, 200)
        return int(response.headers["content-length"])

    def get_modified_time(self, name: str):
        response = self._check(self._request("HEAD", self._path(name)), name, 200)
        when = parsedate_to_datetime(response.headers["last-modified"])
        return when if settings.USE_TZ else timezone.make_naive(when)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        response = self._check(self._request("GET", self._path(path, folder=True)), path, 200)
        data = response.json()
        return list(data["dirs"]), list(data["files"])

    def path(self, name: str) -> str:
        raise NotImplementedError("Files on a node have no local path: open them through the storage.")

    def url(self, name: str) -> str:
        raise NotImplementedError("Files on a node are served through the control plane's views.")


def _exactly(chunks, size: int, name: str):
    """The chunks, checked to add up to the Content-Length announced for them."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if sent > size:
            raise OSError(f"“{name}” is longer than its announced {size} bytes.")
        yield chunk
    if sent != size:
        raise OSError(f"“{name}” is shorter ({sent} bytes) than its announced {size} bytes.")


class AgentFile(io.RawIOBase):
    """A file on a node, read as a stream; seeking elsewhere starts a new ranged GET."""

    def __init__(self, storage: AgentStorage, name: str):
        super().__init__()
        self.storage, self.name = storage, name
        self._pos = 0
        self._response: httpx.Response | None = None
        self._chunks = None
        self._pending = b""
        self._stream_pos = 0  # where the open response's next byte is
        self.size = self._start(0)  # a missing file raises FileNotFoundError right away

    def _start(self, pos: int) -> int:
        self._stop()
        headers = {"Range": f"bytes={pos}-"} if pos else {}
        response = self.storage._request("GET", self.storage._path(self.name), stream=True, headers=headers)
        self.storage._check(response, self.name, 200, 206)
        if response.status_code == 206:
            total = int(response.headers["content-range"].rpartition("/")[2])
        else:
            total = int(response.headers["content-length"])
        if getattr(self, "size", total) != total:
            response.close()
            raise OSError(f"“{self.name}” changed on the node {self.storage.label} while it was read.")
        self._response, self._chunks = response, response.iter_raw(CHUNK)
        self._stream_pos = pos if response.status_code == 206 else 0
        return total

    def _stop(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response, self._chunks, self._pending = None, None, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self.size:
            return 0
        gap = self._pos - self._stream_pos
        if self._chunks is None or gap < 0 or gap > CHUNK:  # a short forward seek reads on instead
            self.size = self._start(self._pos)
        try:
            while self._stream_pos < self._pos or not self._pending:  # skip a short forward seek
                if not self._pending:
                    self._pending = next(self._chunks, b"")
                    if not self._pending:
                        raise OSError(f"“{self.name}” ended early on the node {self.storage.label}.")
                skip = min(self._pos - self._stream_pos, len(self._pending))
                self._pending, self._stream_pos = self._pending[skip:], self._stream_pos + skip
        except httpx.HTTPError as exc:
            self._stop()
            raise OSError(f"Reading “{self.name}” from the node {self.storage.label} failed: {exc}") from exc
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        self._stream_pos += n
        return n

    def close(self) -> None:
        self._stop()
        super().close()
