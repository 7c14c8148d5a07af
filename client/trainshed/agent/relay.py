"""The node agent's HTTP server: a signed file relay for the control plane, and a notebook proxy
for browsers that checks the person's access on every request. Standard library only.

    server = RelayServer(
        host="0.0.0.0", port=8040,              # port=0 picks a free port; see server.port
        storage_root=Path("/srv/trainshed"),    # the agent's own configuration, never a web form
        secret=lambda: relay_secret,            # bytes, or None until the first heartbeat (→ 503)
        access_check=lambda job_id, user_id: True,        # blocking; called on EVERY request
        target_for=lambda job_id: (port, jupyter_token),  # or None when not running (→ 404)
    )
    server.start()      # serves from a background thread (its own asyncio loop)
    server.stop()

File relay (control plane → agent). Every request carries
    X-Trainshed-Expires: <unix seconds>        (in the past or > 10 min ahead → 403)
    X-Trainshed-Signature: hex HMAC-SHA256(secret, f"{METHOD}\\n{raw path with query}\\n{expires}\\n{length}")
where length is the body's Content-Length (0 without one): a signed upload cannot be cut short or
lengthened by whoever relays it.
and keys are the percent-encoded path after /files/ (UTF-8):
    PUT    /files/<key>          body (Content-Length required) → 201 {"size": n}
    GET    /files/<key>          200 streamed (Range: bytes=a-b → 206), 404 when missing
    HEAD   /files/<key>          200 with Content-Length, or 404
    DELETE /files/<key>          204 (also when missing); empty parent folders up to the root go too
    GET    /files/<prefix>/?list=1   {"dirs": [...], "files": [...]} (GET /files/?list=1: the root)
Errors are JSON {"error": "..."}.

Notebook proxy (browser → agent → 127.0.0.1:<job's port>), under /notebook/<job_id>/...:
    ?trainshed_ticket=<user_id>.<job_id>.<expires>.<hex HMAC(secret, "notebook\\n{user}\\n{job}\\n{exp}")>
        → 302 to the same URL without the ticket, setting the cookie trainshed_nb (Path=/notebook/<job>/,
          HttpOnly, SameSite=Lax, 12 h) = the same shape signed with the label "session".
    Every request (the ticket's too, and each WebSocket upgrade) then calls access_check(job, user);
    allowed → forwarded with `Authorization: token <jupyter token>`, without the trainshed_nb cookie or
    the browser's Authorization, path unchanged, `Connection: close` both ways (so the next request
    is a new connection and is checked again); `Upgrade: websocket` → bytes spliced both ways.

Every response closes its connection (no keep-alive anywhere): simple, and each request is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, unquote_plus

log = logging.getLogger("trainshed.agent.relay")

CHUNK = 256 * 1024
MAX_HEAD = 64 * 1024  # request line + headers, and one chunk-size line
MAX_HEADERS = 100
MAX_AHEAD = 600  # a signature or ticket may not expire more than 10 minutes from now
SESSION_TTL = 12 * 3600
HEAD_TIMEOUT = 30  # a client that sends no complete head in this time is dropped
BODY_TIMEOUT = 60  # between two pieces of a body
DISCARD_LIMIT = 1024 * 1024 * 1024  # a refused upload's body is read and dropped up to this size
UPSTREAM_CONNECT_TIMEOUT = 10
UPSTREAM_HEAD_TIMEOUT = 300  # Jupyter may take a while to answer (e.g. saving a large notebook)
TICKET_PARAM = "trainshed_ticket"
COOKIE = "trainshed_nb"
TEMP_PREFIX, TEMP_SUFFIX = ".relay-", ".part"

NO_ACCESS = "You no longer have access to this notebook."
NO_SESSION = "Open the notebook from Trainshed."
NOT_RUNNING = "This notebook is not running."

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/(1\.[01])")
_STATUS_LINE = re.compile(r"HTTP/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOTEBOOK = re.compile(r"/notebook/([^/?]*)(/[^?]*)?")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(;[^\r\n]*)?\r\n")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "expect"}


# ---- signatures (the control plane's compute/relay.py computes the same) --------------------


def request_signature(secret: bytes, method: str, path: str, expires: int | str, length: int = 0) -> str:
    message = f"{method}\n{path}\n{expires}\n{length}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _token_signature(secret: bytes, label: str, user_id: str, job_id: str, expires: int | str) -> str:
    message = f"{label}\n{user_id}\n{job_id}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def make_token(secret: bytes, label: str, *, user_id: str, job_id: str, expires: int) -> str:
    """`user_id.job_id.expires.sig`: label "notebook" for the control plane's tickets, "session"
    for the agent's cookie (one can never stand in for the other)."""
    return f"{user_id}.{job_id}.{expires}.{_token_signature(secret, label, user_id, job_id, expires)}"


def check_token(secret: bytes, label: str, value: str, *, job_id: str, now: float,
                max_ahead: float) -> str | None:
    """The user id a valid, unexpired token of `label` for `job_id` names, else None."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    user_id, token_job, expires, sig = parts
    if not (_USER_ID.fullmatch(user_id) and token_job == job_id and expires.isdigit()
            and expires.isascii() and len(expires) <= 12):
        return None
    expected = _token_signature(secret, label, user_id, token_job, expires)
    if not hmac.compare_digest(expected, sig.lower() if sig.isascii() else ""):
        return None
    if not now <= int(expires) <= now + max_ahead:
        return None
    return user_id


# ---- HTTP parsing -------------------------------------------------------------------------


class HTTPError(Exception):
    """A refusal answered as `status` with `message` (the request handler picks JSON or text)."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or []


class _Closed(Exception):
    """The peer went away (or sent nothing in time): close without answering."""


@dataclass
class Request:
    method: str
    target: str  # the raw request target, e.g. /files/a%20b?list=1
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        if len(values) > 1:
            raise HTTPError(400, f"The header {name} appears more than once.")
        return values[0] if values else None

    def tokens(self, name: str) -> set[str]:
        """A comma-separated header's values, lower case (Connection: keep-alive, Upgrade)."""
        return {t.strip().lower() for v in self.get_all(name) for t in v.split(",") if t.strip()}


async def _read_head(reader: asyncio.StreamReader, timeout: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.LimitOverrunError as exc:
        raise HTTPError(431, "The request's headers are too large.") from exc
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HTTPError(400, "The request ended inside its headers.") from exc
        raise _Closed from exc
    except TimeoutError as exc:
        raise _Closed from exc


def _parse_fields(lines: list[str]) -> list[tuple[str, str]]:
    if len(lines) > MAX_HEADERS:
        raise HTTPError(431, "The request has too many headers.")
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):  # also refuses obs-fold (a leading space)
            raise HTTPError(400, "A header line is malformed.")
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise HTTPError(400, f"The header {name} holds a control character.")
        out.append((name, value))
    return out


def parse_request(head: bytes) -> Request:
    text = head.decode("latin-1")
    if text.startswith("\r\n"):  # RFC 9112 §2.2: ignore an empty line before the request line
        text = text[2:]
    lines = text[:-4].split("\r\n") if text.endswith("\r\n\r\n") else text.split("\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if not match:
        raise HTTPError(400, "The request line is malformed.")
    method, target, version = match.groups()
    if not target.startswith("/"):
        raise HTTPError(400, "Only origin-form request targets are served.")
    return Request(method=method, target=target, version=version, headers=_parse_fields(lines[1:]))


def _body_framing(headers: Request) -> tuple[str, int]:
    """("length", n), ("chunked", 0) or ("none", 0) for a request; smuggling-shaped framing → 400."""
    te = headers.get_all("transfer-encoding")
    cl = headers.get_all("content-length")
    if te and cl:
        raise HTTPError(400, "Send either Content-Length or Transfer-Encoding, not both.")
    if te:
        if [t.strip().lower() for t in ",".join(te).split(",")] != ["chunked"]:
            raise HTTPError(501, "Only the chunked transfer coding is understood.")
        return "chunked", 0
    if cl:
        values = {v.strip() for v in ",".join(cl).split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit() or not next(iter(values)).isascii():
            raise HTTPError(400, "The Content-Length is malformed.")
        return "length", int(values.pop())
    return "none", 0


async def _copy_exactly(reader, writer, n: int, timeout: float) -> None:
    while n > 0:
        try:
            data = await asyncio.wait_for(reader.readexactly(min(CHUNK, n)), timeout)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            raise _Closed from exc
        writer.write(data)
        await writer.drain()
        n -= len(data)


async def _copy_chunked(reader, writer, timeout: float) -> None:
    """Relays one chunked body as it is, parsing its framing so nothing after it passes."""

    async def line() -> bytes:
        try:
            return await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            raise _Closed from exc
        except asyncio.LimitOverrunError as exc:
            raise HTTPError(400, "A chunk's size line is too long.") from exc

    while True:
        size_line = await line()
        match = _CHUNK_SIZE.fullmatch(size_line)
        if not match:
            raise HTTPError(400, "A chunk's size line is malformed.")
        size = int(match.group(1), 16)
        writer.write(size_line)
        if size == 0:
            while (trailer := await line()) != b"\r\n":
                writer.write(trailer)
            writer.write(b"\r\n")
            await writer.drain()
            return
        await _copy_exactly(reader, writer, size, timeout)
        if await line() != b"\r\n":
            raise HTTPError(400, "A chunk does not end where its size says.")
        writer.write(b"\r\n")


async def _copy_until_eof(reader, writer) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _page(message: str) -> bytes:
    # The messages are this module's constants: nothing to escape.
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Trainshed</title></head>"
            f"<body><p>{message}</p></body></html>\n").encode()


# ---- the server ---------------------------------------------------------------------------


class _Exchange:
    """One connection's single request: remembers whether the answer has begun."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.started = False
        self.body_read = False  # whether the request's body was consumed
        self.request: Request | None = None

    async def send_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.started = True
        self.writer.write(_head(status, headers))
        await self.writer.drain()

    async def send(self, status: int, body: bytes, content_type: str,
                   headers: list[tuple[str, str]] | None = None) -> None:
        head = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"), ("Connection", "close"), *(headers or [])]
        await self.send_head(status, head)
        if self.request is None or self.request.method != "HEAD":
            self.writer.write(body)
            await self.writer.drain()

    async def json(self, status: int, data: dict, headers=None) -> None:
        await self.send(status, json.dumps(data).encode(), "application/json", headers)


class RelayServer:
    def __init__(self, *, host: str, port: int, storage_root: Path,
                 secret: Callable[[], bytes | None],
                 access_check: Callable[[str, str], bool],
                 target_for: Callable[[str], tuple[int, str] | None],
                 secure_cookies: bool = False):
        """`secure_cookies`: mark the session cookie Secure (when browsers reach the agent over
        HTTPS, e.g. behind a TLS proxy)."""
        self.host, self.port = host, port
        self.storage_root = Path(storage_root)
        self.secret, self.access_check, self.target_for = secret, access_check, target_for
        self.secure_cookies = secure_cookies
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle --

    def start(self) -> None:
        """Bind and serve in a background thread; raises here when the address cannot be bound."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure),
                                        name="trainshed-relay", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]

    def _run(self, ready: threading.Event, failure: list) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port, limit=MAX_HEAD))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- one connection --

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        ex = _Exchange(reader, writer)
        try:
            ex.request = parse_request(await _read_head(reader, HEAD_TIMEOUT))
            await self._dispatch(ex)
        except HTTPError as exc:
            if not ex.started:
                with contextlib.suppress(Exception):
                    await self._refuse(ex, exc)
                    await self._discard_body(ex)
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): the connection ends with the server
        except Exception:
            log.exception("relay: request %s failed", ex.request.target if ex.request else "?")
            if not ex.started:
                with contextlib.suppress(Exception):
                    await self._refuse(ex, HTTPError(500, "The agent failed to answer this request."))
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _discard_body(self, ex: _Exchange) -> None:
        """After refusing a request, read (a bounded part of) the body it is still sending:
        closing with unread data resets the connection and the client would miss the answer."""
        if ex.request is None or ex.body_read:
            return
        framing, length = _body_framing(ex.request)
        if framing != "length" or length > DISCARD_LIMIT:
            return
        ex.writer.write_eof()
        while length > 0:
            data = await asyncio.wait_for(ex.reader.read(min(CHUNK, length)), BODY_TIMEOUT)
            if not data:
                return
            length -= len(data)

    async def _refuse(self, ex: _Exchange, exc: HTTPError) -> None:
        if ex.request is not None and ex.request.path.startswith("/notebook/"):
            await ex.send(exc.status, _page(exc.message), "text/html; charset=utf-8", exc.headers)
        else:
            await ex.json(exc.status, {"error": exc.message}, exc.headers)

    async def _dispatch(self, ex: _Exchange) -> None:
        req = ex.request
        try:
            secret = self.secret()
        except Exception:
            log.exception("relay: secret() failed")
            secret = None
        if req.path == "/files" or req.path.startswith("/files/"):
            if not secret:
                raise HTTPError(503, "The agent does not know its relay secret yet.")
            await self._files(ex, secret)
        elif req.path.startswith("/notebook/"):
            if not secret:
                raise HTTPError(503, "The agent is starting: try again in a moment.")
            await self._notebook(ex, secret)
        else:
            raise HTTPError(404, "Not found.")

    # ---- file relay ----

    def _check_signature(self, req: Request, secret: bytes) -> None:
        expires = req.get("x-trainshed-expires") or ""
        signature = req.get("x-trainshed-signature") or ""
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12 and signature.isascii()):
            raise HTTPError(403, "The request is not signed.")
        framing, length = _body_framing(req)
        length = length if framing == "length" else 0
        expected = request_signature(secret, req.method, req.target, expires, length)
        if not hmac.compare_digest(expected, signature.lower()):
            raise HTTPError(403, "The request's signature is wrong.")
        now = time.time()
        if int(expires) < now:
            raise HTTPError(403, "The request's signature has expired.")
        if int(expires) > now + MAX_AHEAD:
            raise HTTPError(403, "The request's signature expires too far ahead (check the clocks).")

    def _resolve(self, key: str, *, folder: bool, follow_final: bool = True) -> tuple[Path, Path]:
        """(root, the key's path with its folders resolved). Refuses a key that is not a plain
        relative path, or whose folders (or final symlink, with follow_final) lead outside the root."""
        if (key.startswith("/") or "\x00" in key or "\\" in key
                or (not folder and (key == "" or key.endswith("/")))):
            raise HTTPError(400, "The key is not a safe relative path.")
        parts = key.rstrip("/").split("/") if key else []
        if any(p in ("", ".", "..") for p in parts):
            raise HTTPError(400, "The key is not a safe relative path.")
        root = self.storage_root.resolve()
        if not parts:
            return root, root
        parent = root.joinpath(*parts[:-1]).resolve()
        target = parent / parts[-1]
        for p in (parent, target.resolve()) if follow_final else (parent,):
            if p != root and root not in p.parents:
                raise HTTPError(403, "The key leads outside the storage root.")
        return root, target

    async def _files(self, ex: _Exchange, secret: bytes) -> None:
        req = ex.request
        self._check_signature(req, secret)
        raw_key = req.path[len("/files/"):] if req.path.startswith("/files/") else ""
        try:
            key = unquote(raw_key, errors="strict")
        except UnicodeDecodeError as exc:
            raise HTTPError(400, "The key is not UTF-8.") from exc
        if key == "" or key.endswith("/"):
            params = [p.partition("=") for p in req.query.split("&") if p]
            if req.method != "GET" or ("list", "=", "1") not in params:
                raise HTTPError(400, "A key ending in / is a folder: GET it with ?list=1.")
            await self._list(ex, key)
            return
        handler = {"PUT": self._put, "GET": self._get, "HEAD": self._get,
                   "DELETE": self._delete}.get(req.method)
        if handler is None:
            raise HTTPError(405, "Use PUT, GET, HEAD or DELETE.", [("Allow", "PUT, GET, HEAD, DELETE")])
        await handler(ex, key)

    async def _put(self, ex: _Exchange, key: str) -> None:
        framing, length = _body_framing(ex.request)
        if framing != "length":
            raise HTTPError(411, "Send the file with its Content-Length.")
        root, target = self._resolve(key, folder=False)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise HTTPError(409, "A folder of the key is a file.") from exc
        self._resolve(key, folder=False)  # the folders just made are still inside the root
        if target.is_dir() and not target.is_symlink():
            raise HTTPError(409, "The key is a folder.")
        if "100-continue" in ex.request.tokens("expect"):
            ex.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = length
                while remaining:
                    try:
                        data = await asyncio.wait_for(
                            ex.reader.readexactly(min(CHUNK, remaining)), BODY_TIMEOUT)
                    except (asyncio.IncompleteReadError, TimeoutError) as exc:
                        raise _Closed from exc
                    await asyncio.to_thread(out.write, data)
                    remaining -= len(data)
                ex.body_read = True
                await asyncio.to_thread(_flush_and_sync, out)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # replaces a symlink itself, never what it points to
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            _prune_empty(target.parent, root)  # a cut upload leaves no folders it made behind
            raise
        await ex.json(201, {"size": length})

    async def _get(self, ex: _Exchange, key: str) -> None:
        _root, target = self._resolve(key, folder=False)
        try:
            f = await asyncio.to_thread(open, target, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise HTTPError(404, "No such file.") from exc
        with f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise HTTPError(404, "No such file.")
            size = st.st_size
            status, start, end = 200, 0, size  # [start, end)
            headers = [("Content-Type", "application/octet-stream"), ("Accept-Ranges", "bytes"),
                       ("Last-Modified", formatdate(st.st_mtime, usegmt=True))]
            byte_range = ex.request.get("range")
            if byte_range is not None and ex.request.method == "GET":
                span = _parse_range(byte_range, size)
                if span is None:
                    raise HTTPError(416, "The range is not satisfiable.",
                                    [("Content-Range", f"bytes */{size}")])
                if span != (0, size):
                    status, (start, end) = 206, span
                    headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
            await ex.send_head(status, [*headers, ("Content-Length", str(end - start)),
                                        ("Connection", "close")])
            if ex.request.method == "HEAD":
                return
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                data = await asyncio.to_thread(f.read, min(CHUNK, remaining))
                if not data:
                    break  # the file shrank under us: the client sees a short body
                ex.writer.write(data)
                await ex.writer.drain()
                remaining -= len(data)

    async def _delete(self, ex: _Exchange, key: str) -> None:
        # Only the folders must stay inside: deleting a symlink removes the link, not its target.
        root, target = self._resolve(key, folder=False, follow_final=False)
        try:
            if target.is_dir() and not target.is_symlink():
                target.rmdir()
            else:
                target.unlink()
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            pass
        except OSError as exc:  # a folder that still holds files
            raise HTTPError(409, "The folder is not empty.") from exc
        _prune_empty(target.parent, root)
        await ex.send(204, b"", "application/json")

    async def _list(self, ex: _Exchange, key: str) -> None:
        _root, folder = self._resolve(key, folder=True)
        try:
            entries = await asyncio.to_thread(lambda: list(os.scandir(folder)))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise HTTPError(404, "No such folder.") from exc
        dirs, files = [], []
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                continue  # an upload still being written
            (dirs if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
        await ex.json(200, {"dirs": sorted(dirs), "files": sorted(files)})

    # ---- notebook proxy ----

    async def _notebook(self, ex: _Exchange, secret: bytes) -> None:
        req = ex.request
        match = _NOTEBOOK.fullmatch(req.path)
        job_id = match.group(1) if match else ""
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            canonical = None
        if canonical != job_id:
            raise HTTPError(404, "Not found.")
        base = f"/notebook/{job_id}/"
        if match.group(2) is None:
            raise HTTPError(302, "Found.", [("Location", base + (f"?{req.query}" if req.query else ""))])
        segments = [unquote(s).lower() for s in match.group(2).split("/")]
        if "." in segments or ".." in segments:
            raise HTTPError(400, "The path is malformed.")
        now = time.time()

        kept, tickets = [], []
        for param in req.query.split("&") if req.query else []:
            name = unquote_plus(param.partition("=")[0])
            (tickets if name == TICKET_PARAM else kept).append(param)
        if tickets:
            value = unquote_plus(tickets[-1].partition("=")[2])
            user_id = check_token(secret, "notebook", value, job_id=job_id, now=now, max_ahead=MAX_AHEAD)
            if user_id is None:
                raise HTTPError(403, NO_SESSION)
            await self._check_access(job_id, user_id)
            session = make_token(secret, "session", user_id=user_id, job_id=job_id,
                                 expires=int(now) + SESSION_TTL)
            cookie = f"{COOKIE}={session}; Path={base}; Max-Age={SESSION_TTL}; HttpOnly; SameSite=Lax"
            if self.secure_cookies:
                cookie += "; Secure"
            location = req.path + (f"?{'&'.join(kept)}" if kept else "")
            raise HTTPError(302, "Found.", [("Location", location), ("Set-Cookie", cookie)])

        user_id = None
        for name, value in _cookies(req):
            if name == COOKIE:
                user_id = check_token(secret, "session", value, job_id=job_id, now=now,
                                      max_ahead=SESSION_TTL + 60)
                if user_id:
                    break
        if user_id is None:
            raise HTTPError(403, NO_SESSION)
        await self._check_access(job_id, user_id, base=base)
        try:
            target = await asyncio.to_thread(self.target_for, job_id)
        except Exception:
            log.exception("relay: target_for(%s) failed", job_id)
            target = None
        if target is None:
            raise HTTPError(404, NOT_RUNNING)
        port, jupyter_token = target
        await self._forward(ex, int(port), jupyter_token)

    async def _check_access(self, job_id: str, user_id: str, base: str | None = None) -> None:
        """access_check, asked again for every request (never cached); anything but True denies."""
        try:
            allowed = await asyncio.to_thread(self.access_check, job_id, user_id)
        except Exception as exc:
            log.exception("relay: access_check(%s, %s) failed", job_id, user_id)
            raise HTTPError(503, "Trainshed could not check your access just now: try again.") from exc
        if allowed is not True:
            clear = f"{COOKIE}=; Path={base}; Max-Age=0; HttpOnly; SameSite=Lax"
            raise HTTPError(403, NO_ACCESS, [("Set-Cookie", clear)] if base else [])

    async def _forward(self, ex: _Exchange, port: int, jupyter_token: str) -> None:
        req = ex.request
        websocket = "websocket" in req.tokens("upgrade") and "upgrade" in req.tokens("connection")
        framing, length = _body_framing(req)
        dropped = _HOP_BY_HOP | req.tokens("connection") | {"authorization", "cookie"}
        headers = [(k, v) for k, v in req.headers if k.lower() not in dropped]
        cookies = [f"{n}={v}" for n, v in _cookies(req) if n != COOKIE]
        if cookies:
            headers.append(("Cookie", "; ".join(cookies)))
        headers.append(("Authorization", f"token {jupyter_token}"))
        if framing == "length":
            headers.append(("Content-Length", str(length)))
        elif framing == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        if websocket:
            headers += [("Connection", "Upgrade"), ("Upgrade", "websocket")]
        else:
            headers.append(("Connection", "close"))
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, limit=MAX_HEAD), UPSTREAM_CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise HTTPError(502, "The notebook did not answer.") from exc
        try:
            lines = [f"{req.method} {req.target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers]
            up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if framing != "none" and "100-continue" in req.tokens("expect"):
                ex.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if framing == "length":
                await _copy_exactly(ex.reader, up_writer, length, BODY_TIMEOUT)
            elif framing == "chunked":
                await _copy_chunked(ex.reader, up_writer, BODY_TIMEOUT)
            ex.body_read = True
            await up_writer.drain()
            status, resp_headers = await self._upstream_head(up_reader)
            resp_headers = [(k, v) for k, v in resp_headers if not _sets_session_cookie(k, v)]
            if websocket and status == 101:
                await ex.send_head(101, resp_headers)
                await _splice(ex.reader, ex.writer, up_reader, up_writer)
                return
            upstream = Request("", "", "", resp_headers)
            resp_framing, resp_length = _body_framing(upstream)
            out = [(k, v) for k, v in resp_headers if k.lower() not in ("connection", "keep-alive")
                   and k.lower() not in upstream.tokens("connection")]
            await ex.send_head(status, [*out, ("Connection", "close")])
            if req.method == "HEAD" or status in (204, 304) or status < 200:
                return
            if resp_framing == "length":
                await _copy_exactly(up_reader, ex.writer, resp_length, UPSTREAM_HEAD_TIMEOUT)
            elif resp_framing == "chunked":
                await _copy_chunked(up_reader, ex.writer, UPSTREAM_HEAD_TIMEOUT)
            else:
                await _copy_until_eof(up_reader, ex.writer)
        except HTTPError as exc:
            if ex.started:
                raise _Closed from exc
            raise
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()

    async def _upstream_head(self, reader) -> tuple[int, list[tuple[str, str]]]:
        """The upstream's status and headers; interim 1xx answers (but 101) are skipped."""
        while True:
            try:
                head = await _read_head(reader, UPSTREAM_HEAD_TIMEOUT)
            except (HTTPError, _Closed) as exc:
                raise HTTPError(502, "The notebook sent a broken answer.") from exc
            lines = head.decode("latin-1")[:-4].split("\r\n")
            match = _STATUS_LINE.fullmatch(lines[0])
            if not match:
                raise HTTPError(502, "The notebook sent a broken answer.")
            try:
                fields = _parse_fields(lines[1:])
            except HTTPError as exc:
                raise HTTPError(502, "The notebook sent a broken answer.") from exc
            status = int(match.group(1))
            if 100 <= status < 200 and status != 101:
                continue
            return status, fields


def _flush_and_sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range as [start, end); several ranges or a
    malformed header → the whole file; unsatisfiable → None."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", value.strip())
    if not match or match.groups() == ("", ""):
        return 0, size
    first, last = match.groups()
    if first == "":
        n = int(last)
        return (max(0, size - n), size) if n > 0 and size > 0 else None
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        return None
    return start, end


def _cookies(req: Request) -> list[tuple[str, str]]:
    out = []
    for header in req.get_all("cookie"):
        for piece in header.split(";"):
            name, sep, value = piece.strip().partition("=")
            if sep and name:
                out.append((name, value.strip().strip('"')))
    return out


def _sets_session_cookie(name: str, value: str) -> bool:
    # A job's server may not plant or overwrite the agent's session cookie.
    return name.lower() == "set-cookie" and value.lstrip().startswith(f"{COOKIE}=")


async def _splice(client_reader, client_writer, up_reader, up_writer) -> None:
    """Bytes both ways until either side closes; then both are closed."""

    async def pipe(src, dst):
        with contextlib.suppress(ConnectionError, OSError):
            await _copy_until_eof(src, dst)

    tasks = [asyncio.create_task(pipe(client_reader, up_writer)),
             asyncio.create_task(pipe(up_reader, client_writer))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents while they are empty, up to (not including) `root`."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent
