"""The agent's HTTP server (trainshed.agent.relay), served for real on 127.0.0.1:0: the signed file
relay and the notebook proxy in front of a fake Jupyter."""

import hashlib
import http.server
import json
import os
import socket
import threading
import time
import uuid
from urllib.parse import quote

import httpx
import pytest
from trainshed.agent.relay import (
    COOKIE,
    NO_ACCESS,
    NO_SESSION,
    NOT_RUNNING,
    RelayServer,
    make_token,
    request_signature,
)

SECRET = b"relay-secret-for-tests"
JUPYTER_TOKEN = "jupyter-token-never-shown"
JOB = str(uuid.uuid4())


def signed(method, path, *, secret=SECRET, ttl=300, expires=None, length=0):
    expires = int(time.time()) + ttl if expires is None else expires
    return {"X-Trainshed-Expires": str(expires),
            "X-Trainshed-Signature": request_signature(secret, method, path, expires, length)}


class Access:
    """The access_check callback: counts its calls, answers `allowed`."""

    def __init__(self):
        self.allowed = True
        self.calls = []

    def __call__(self, job_id, user_id):
        self.calls.append((job_id, user_id))
        return self.allowed


@pytest.fixture
def upstream():
    """A fake Jupyter: echoes what it received as JSON; an Upgrade request gets a 101 and then
    every byte echoed back (uppercased, so the direction is visible) until the client closes."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _echo(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Transfer-Encoding") == "chunked":
                while size := int(self.rfile.readline().strip(), 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
            info = {"method": self.command, "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "cookie": self.headers.get("Cookie"), "connection": self.headers.get("Connection"),
                    "body": body.decode()}
            seen.append(info)
            if self.headers.get("Upgrade", "").lower() == "websocket":
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\n\r\n")
                self.wfile.flush()
                while data := self.connection.recv(65536):
                    self.connection.sendall(data.upper())
                self.close_connection = True
                return
            out = json.dumps(info).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Set-Cookie", f"{COOKIE}=planted-by-the-job; Path=/")
            self.send_header("Set-Cookie", "_xsrf=abc; Path=/")
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = _echo  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def relay(tmp_path, upstream):
    root = tmp_path / "storage"
    root.mkdir()
    access = Access()
    state = {"secret": SECRET, "target": (upstream.server_address[1], JUPYTER_TOKEN)}
    server = RelayServer(host="127.0.0.1", port=0, storage_root=root, secret=lambda: state["secret"],
                         access_check=access, target_for=lambda job_id: state["target"])
    server.start()
    server.root, server.access, server.state = root, access, state
    server.http = httpx.Client(base_url=server.url, timeout=10)
    yield server
    server.http.close()
    server.stop()


def put(relay, key, data, **kw):
    path = "/files/" + quote(key)
    return relay.http.put(path, content=data, headers=signed("PUT", path, length=len(data), **kw))


def call(relay, method, key, query=""):
    path = "/files/" + quote(key) + query
    return relay.http.request(method, path, headers=signed(method, path))


def signed_raw(method, path, body=b"", headers=""):
    sig = signed(method, path, length=len(body))
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-Trainshed-Expires: {sig['X-Trainshed-Expires']}\r\n"
            f"X-Trainshed-Signature: {sig['X-Trainshed-Signature']}\r\n{headers}"
            + (f"Content-Length: {len(body)}\r\n" if body else "") + "\r\n").encode() + body


def raw(relay, data: bytes) -> bytes:
    """Sends raw bytes, returns all the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


# ---- file relay --------------------------------------------------------------------------


def test_put_get_head_delete_round_trip(relay):
    r = put(relay, "datasets/p1/a b/ünï.txt", b"hello relay")
    assert r.status_code == 201 and r.json() == {"size": 11}
    assert (relay.root / "datasets/p1/a b/ünï.txt").read_bytes() == b"hello relay"

    r = call(relay, "GET", "datasets/p1/a b/ünï.txt")
    assert r.status_code == 200 and r.content == b"hello relay"
    assert r.headers["content-length"] == "11"
    r = call(relay, "HEAD", "datasets/p1/a b/ünï.txt")
    assert r.status_code == 200 and r.headers["content-length"] == "11" and r.content == b""

    # overwrite in place (temp file + rename): no leftovers
    assert put(relay, "datasets/p1/a b/ünï.txt", b"v2").status_code == 201
    assert os.listdir(relay.root / "datasets/p1/a b") == ["ünï.txt"]

    assert call(relay, "DELETE", "datasets/p1/a b/ünï.txt").status_code == 204
    assert call(relay, "GET", "datasets/p1/a b/ünï.txt").status_code == 404
    assert call(relay, "HEAD", "datasets/p1/a b/ünï.txt").status_code == 404
    assert os.listdir(relay.root) == []  # empty folders up to the root went too
    assert call(relay, "DELETE", "datasets/p1/a b/ünï.txt").status_code == 204  # missing: fine


def test_range_request(relay):
    put(relay, "r.bin", bytes(range(100)))
    path = "/files/r.bin"
    r = relay.http.get(path, headers={**signed("GET", path), "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == bytes(range(10, 20))
    assert r.headers["content-range"] == "bytes 10-19/100"
    r = relay.http.get(path, headers={**signed("GET", path), "Range": "bytes=-5"})
    assert r.content == bytes(range(95, 100))
    r = relay.http.get(path, headers={**signed("GET", path), "Range": "bytes=200-"})
    assert r.status_code == 416


def test_listdir(relay):
    for key in ("ds/x/1.txt", "ds/x/2.txt", "ds/x/sub/3.txt", "ds/x/sub2/deep/4.txt"):
        put(relay, key, b"1")
    (relay.root / "ds/x/.relay-abc.part").write_bytes(b"in flight")  # an upload being written
    r = call(relay, "GET", "ds/x/", "?list=1")
    assert r.status_code == 200 and r.json() == {"dirs": ["sub", "sub2"], "files": ["1.txt", "2.txt"]}
    assert call(relay, "GET", "", "?list=1").json() == {"dirs": ["ds"], "files": []}
    assert call(relay, "GET", "nope/", "?list=1").status_code == 404
    assert call(relay, "GET", "ds/x/1.txt/", "?list=1").status_code == 404
    assert call(relay, "GET", "ds/x/").status_code == 400  # a folder without ?list=1


def test_large_file_streams_both_ways(relay, tmp_path):
    """20 MB up and down, compared by hash; the upload is read from a file and the download
    streamed, so neither side holds it whole."""
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with src.open("wb") as f:
        for i in range(20):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            f.write(block)
    path = "/files/big/model.bin"
    with src.open("rb") as f:
        r = relay.http.put(path, content=f, headers={**signed("PUT", path, length=20 * 2**20),
                                                            "Content-Length": str(20 * 2**20)})
    assert r.status_code == 201 and r.json() == {"size": 20 * 2**20}
    got = hashlib.sha256()
    with relay.http.stream("GET", path, headers=signed("GET", path)) as r:
        assert r.headers["content-length"] == str(20 * 2**20)
        for part in r.iter_raw():
            got.update(part)
    assert got.hexdigest() == digest.hexdigest()


def test_bad_signatures_are_refused(relay):
    put(relay, "f.txt", b"x")
    path = "/files/f.txt"
    cases = {
        "none": {},
        "wrong secret": signed("GET", path, secret=b"other"),
        "other method": signed("DELETE", path),
        "other path": signed("GET", "/files/g.txt"),
        "expired": signed("GET", path, expires=int(time.time()) - 1),
        "too far ahead": signed("GET", path, ttl=3600),
        "garbage expiry": {"X-Trainshed-Expires": "soon", "X-Trainshed-Signature": "00"},
    }
    for name, headers in cases.items():
        r = relay.http.get(path, headers=headers)
        assert r.status_code == 403, name
        assert "error" in r.json(), name
    # a signature is bound to its query too
    r = relay.http.get("/files/?list=1", headers=signed("GET", "/files/?list=2"))
    assert r.status_code == 403
    assert (relay.root / "f.txt").exists()


def test_refused_upload_still_gets_its_answer(relay):
    """A 5 MB PUT with a wrong signature: the client sees the 403, not a reset connection."""
    path = "/files/x.bin"
    r = relay.http.put(path, content=b"\0" * (5 * 2**20),
                       headers=signed("PUT", path, secret=b"bad", length=5 * 2**20))
    assert r.status_code == 403
    assert not (relay.root / "x.bin").exists()


def test_no_secret_yet_is_503(relay):
    relay.state["secret"] = None
    assert call(relay, "GET", "f.txt").status_code == 503
    assert relay.http.get(f"/notebook/{JOB}/").status_code == 503


def test_traversal_keys_are_refused(relay, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not read")
    (relay.root / "linkdir").symlink_to(outside)
    (relay.root / "linkfile").symlink_to(outside / "secret.txt")
    for raw_path in ("/files/../x", "/files/a/../../x", "/files/%2e%2e/x", "/files/a/%2E%2E/%2E%2E/x",
                     "/files/%2Fetc%2Fpasswd", "/files//etc/passwd", "/files/a%5C..%5Cx", "/files/a%00b",
                     "/files/a//b", "/files/./a"):
        for method in ("PUT", "GET", "DELETE"):
            # sent raw: an HTTP client would normalise the dot segments away
            answer = raw(relay, signed_raw(method, raw_path, b"x" if method == "PUT" else b""))
            assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 403"), (method, raw_path, answer)
    for key in ("linkdir/secret.txt", "linkdir/new.txt", "linkfile"):
        assert call(relay, "GET", key).status_code == 403, key
        assert put(relay, key, b"overwrite").status_code == 403, key
    assert call(relay, "GET", "linkdir/", "?list=1").status_code == 403
    assert call(relay, "DELETE", "linkdir/secret.txt").status_code == 403
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "do not read"
    # deleting the link itself removes the link, never what it points to
    assert call(relay, "DELETE", "linkfile").status_code == 204
    assert not (relay.root / "linkfile").is_symlink() and (outside / "secret.txt").exists()


def test_the_signature_covers_the_body_length(relay):
    path = "/files/model.bin"
    sig = signed("PUT", path, length=1000)  # the control plane signed an upload of 1,000 bytes
    for body in (b"x" * 10, b"x" * 2000):  # sent cut short, or lengthened, by whoever relays it
        answer = raw(relay, (f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                             f"X-Trainshed-Expires: {sig['X-Trainshed-Expires']}\r\n"
                             f"X-Trainshed-Signature: {sig['X-Trainshed-Signature']}\r\n\r\n").encode() + body)
        assert answer.startswith(b"HTTP/1.1 403 ") and b"signature is wrong" in answer
    assert not (relay.root / "model.bin").exists()
    assert relay.http.put(path, content=b"x" * 1000, headers=sig).status_code == 201


def test_put_needs_content_length(relay):
    path = "/files/chunked.bin"
    r = relay.http.put(path, content=iter([b"a", b"b"]), headers=signed("PUT", path))  # chunked
    assert r.status_code == 411
    answer = raw(relay, signed_raw("PUT", path))
    assert answer.startswith(b"HTTP/1.1 411 ")
    assert not (relay.root / "chunked.bin").exists()


def test_interrupted_upload_leaves_nothing(relay):
    path = "/files/half.bin"
    sig = signed("PUT", path, length=1000)
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
        s.sendall((f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                   f"X-Trainshed-Expires: {sig['X-Trainshed-Expires']}\r\n"
                   f"X-Trainshed-Signature: {sig['X-Trainshed-Signature']}\r\n\r\n").encode() + b"x" * 10)
        # the server has begun the upload (its partial file exists) before the client goes away
        deadline = time.time() + 5
        while time.time() < deadline and not os.listdir(relay.root):
            time.sleep(0.02)
    deadline = time.time() + 10
    while time.time() < deadline and os.listdir(relay.root):
        time.sleep(0.05)
    assert os.listdir(relay.root) == []


def test_malformed_requests_are_400_and_the_server_lives_on(relay):
    for data in (b"GARBAGE\r\n\r\n", b"GET /files/x HTTP/9.9\r\n\r\n", b"GET http://a/b HTTP/1.1\r\n\r\n",
                 b"GET /files/x HTTP/1.1\r\nNo colon here\r\n\r\n",
                 b"GET /files/x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
                 b"GET /files/x HTTP/1.1\r\nBad Name: b\r\n\r\n",
                 b"GET /files/x HTTP/1.1\r\nA: b\x01c\r\n\r\n",
                 b"\xff\xfe\r\n\r\n"):
        answer = raw(relay, data)
        assert answer.startswith(b"HTTP/1.1 400 "), (data, answer)
        assert b"Traceback" not in answer
    huge = b"GET /files/x HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    assert raw(relay, huge).startswith(b"HTTP/1.1 431 ")
    many = b"GET /files/x HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n"
    assert raw(relay, many).startswith(b"HTTP/1.1 431 ")
    assert raw(relay, b"GET /files/x HTTP/1.1\r\nHost: a").startswith(b"HTTP/1.1 400 ")  # cut mid-head
    assert raw(relay, b"") == b""  # connected and left: nothing to answer
    assert raw(relay, b"GET /elsewhere HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert put(relay, "still.txt", b"alive").status_code == 201


# ---- notebook proxy ----------------------------------------------------------------------


def ticket(user_id="42", job_id=JOB, ttl=120, secret=SECRET):
    return make_token(secret, "notebook", user_id=user_id, job_id=job_id, expires=int(time.time()) + ttl)


def open_notebook(relay, user_id="42"):
    """The browser's first request: the ticket is exchanged for the session cookie."""
    r = relay.http.get(f"/notebook/{JOB}/lab?x=1&trainshed_ticket={ticket(user_id)}&y=2")
    assert r.status_code == 302, r.text
    return r


def test_ticket_becomes_a_cookie_and_requests_reach_jupyter(relay, upstream):
    r = open_notebook(relay)
    assert r.headers["location"] == f"/notebook/{JOB}/lab?x=1&y=2"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=42.{JOB}.")
    for attribute in (f"Path=/notebook/{JOB}/", "HttpOnly", "SameSite=Lax"):
        assert attribute in cookie
    assert JUPYTER_TOKEN not in r.text and JUPYTER_TOKEN not in str(r.headers)
    assert relay.http.cookies.get(COOKIE)

    session = relay.http.cookies.get(COOKIE)
    r = relay.http.get(f"/notebook/{JOB}/lab?x=1&y=2", headers={"Authorization": "Bearer browser's",
                                                                "Cookie": f"other=1; {COOKIE}={session}"})
    assert r.status_code == 200
    seen = r.json()
    assert seen["path"] == f"/notebook/{JOB}/lab?x=1&y=2"  # the path as it is
    assert seen["authorization"] == f"token {JUPYTER_TOKEN}"  # the browser's one replaced
    assert COOKIE not in (seen["cookie"] or "") and "other=1" in seen["cookie"]
    assert seen["connection"] == "close"
    assert r.headers["connection"] == "close"
    # the job may set its own cookies, never the agent's session
    assert r.headers.get_list("set-cookie") == ["_xsrf=abc; Path=/"]

    r = relay.http.post(f"/notebook/{JOB}/api/contents", content=b'{"type": "notebook"}')
    assert r.status_code == 200 and r.json()["body"] == '{"type": "notebook"}'
    chunked = relay.http.put(f"/notebook/{JOB}/api/x", content=iter([b"ab", b"cd"]))
    assert chunked.status_code == 200 and chunked.json()["body"] == "abcd"  # relayed as chunked


def test_access_is_checked_on_every_request(relay):
    open_notebook(relay)
    assert relay.access.calls == [(JOB, "42")]
    for _ in range(3):
        assert relay.http.get(f"/notebook/{JOB}/api/status").status_code == 200
    assert relay.access.calls == [(JOB, "42")] * 4  # once per request, nothing cached

    relay.access.allowed = False  # the member was removed
    r = relay.http.get(f"/notebook/{JOB}/api/status")
    assert r.status_code == 403 and NO_ACCESS in r.text
    assert len(relay.access.calls) == 5
    assert 'Max-Age=0' in r.headers["set-cookie"]


def test_access_check_failing_is_a_refusal(relay):
    open_notebook(relay)

    def broken(job_id, user_id):
        raise RuntimeError("control plane unreachable")

    relay.access_check = broken
    r = relay.http.get(f"/notebook/{JOB}/api/status")
    assert r.status_code == 503 and "Traceback" not in r.text


def test_forged_or_foreign_tickets_and_cookies_are_refused(relay):
    other_job = str(uuid.uuid4())
    bad_tickets = [
        ticket(secret=b"forged"),
        ticket(job_id=other_job),            # a ticket for another job
        ticket(ttl=-5),                      # expired
        ticket(ttl=7200),                    # too far ahead
        make_token(SECRET, "session", user_id="42", job_id=JOB, expires=int(time.time()) + 60),
        "42." + JOB + ".9999999999",          # unsigned
        "garbage",
    ]
    for value in bad_tickets:
        r = httpx.get(f"{relay.url}/notebook/{JOB}/?trainshed_ticket={quote(value)}")
        assert r.status_code == 403 and NO_SESSION in r.text, value
        assert "set-cookie" not in r.headers
    bad_cookies = [
        make_token(b"forged", "session", user_id="42", job_id=JOB, expires=int(time.time()) + 60),
        make_token(SECRET, "notebook", user_id="42", job_id=JOB, expires=int(time.time()) + 60),
        make_token(SECRET, "session", user_id="42", job_id=other_job, expires=int(time.time()) + 60),
        make_token(SECRET, "session", user_id="42", job_id=JOB, expires=int(time.time()) - 1),
        "",
    ]
    for value in bad_cookies:
        r = httpx.get(f"{relay.url}/notebook/{JOB}/lab", headers={"Cookie": f"{COOKIE}={value}"})
        assert r.status_code == 403 and NO_SESSION in r.text, value
    assert relay.access.calls == []  # nothing reached the check, nor the upstream
    good = make_token(SECRET, "session", user_id="7", job_id=JOB, expires=int(time.time()) + 60)
    assert httpx.get(f"{relay.url}/notebook/{JOB}/lab", headers={"Cookie": f"{COOKIE}={good}"}).status_code == 200


def test_notebook_not_running_and_bad_paths(relay):
    open_notebook(relay)
    relay.state["target"] = None
    r = relay.http.get(f"/notebook/{JOB}/lab")
    assert r.status_code == 404 and NOT_RUNNING in r.text
    assert relay.http.get("/notebook/not-a-uuid/lab").status_code == 404
    assert relay.http.get(f"/notebook/{JOB.upper()}/lab").status_code == 404
    r = relay.http.get(f"/notebook/{JOB}?a=b")
    assert r.status_code == 302 and r.headers["location"] == f"/notebook/{JOB}/?a=b"
    assert raw(relay, f"GET /notebook/{JOB}/../x HTTP/1.1\r\n\r\n".encode()).startswith(b"HTTP/1.1 400 ")


def test_notebook_upstream_down_is_502(relay):
    open_notebook(relay)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    relay.state["target"] = (free_port, JUPYTER_TOKEN)
    r = relay.http.get(f"/notebook/{JOB}/lab")
    assert r.status_code == 502


def test_pipelined_second_request_never_reaches_jupyter_unchecked(relay, upstream):
    session = make_token(SECRET, "session", user_id="42", job_id=JOB, expires=int(time.time()) + 60)
    one = f"GET /notebook/{JOB}/one HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}={session}\r\n\r\n"
    two = f"GET /notebook/{JOB}/two HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = raw(relay, (one + two).encode())
    assert answer.count(b"HTTP/1.1 200") == 1
    assert [s["path"] for s in upstream.seen] == [f"/notebook/{JOB}/one"]
    assert len(relay.access.calls) == 1


def test_websocket_upgrade_is_checked_then_spliced(relay, upstream):
    session = make_token(SECRET, "session", user_id="42", job_id=JOB, expires=int(time.time()) + 60)
    request = (f"GET /notebook/{JOB}/api/kernels/k/channels HTTP/1.1\r\nHost: x\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc\r\n"
               f"Sec-WebSocket-Version: 13\r\nCookie: {COOKIE}={session}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as s:
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        head, _, rest = head.partition(b"\r\n\r\n")
        for message in (b"hello kernel", b"second frame"):
            s.sendall(message)
            got = rest
            while len(got) < len(message):
                got += s.recv(4096)
            assert got == message.upper()
            rest = b""
    assert relay.access.calls == [(JOB, "42")]
    seen = upstream.seen[-1]
    assert seen["authorization"] == f"token {JUPYTER_TOKEN}" and COOKIE not in (seen["cookie"] or "")

    relay.access.allowed = False  # the next upgrade is refused before any byte reaches Jupyter
    before = len(upstream.seen)
    answer = raw(relay, request)
    assert answer.startswith(b"HTTP/1.1 403 ") and NO_ACCESS.encode() in answer
    assert len(upstream.seen) == before


def test_stop_closes_an_open_websocket(tmp_path, upstream):
    server = RelayServer(host="127.0.0.1", port=0, storage_root=tmp_path, secret=lambda: SECRET,
                         access_check=lambda j, u: True,
                         target_for=lambda j: (upstream.server_address[1], JUPYTER_TOKEN))
    server.start()
    session = make_token(SECRET, "session", user_id="1", job_id=JOB, expires=int(time.time()) + 60)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((f"GET /notebook/{JOB}/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Cookie: {COOKIE}={session}\r\n\r\n").encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
        started = time.time()
        server.stop()
        assert s.recv(4096) == b""  # closed by the server
        assert time.time() - started < 5
