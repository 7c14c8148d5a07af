""""Dataset/model from URL" cannot be turned against the server's own network: loopback, private,
link-local and metadata addresses are refused before any connection (unless the operator names the
host), redirects are checked again (http/https only, at most 5), a closed and a silent port answer
the same, and a download has a wall-clock deadline. Real HTTP servers on loopback."""

import http.server
import socket
import threading
import time

import pytest

from resources import services, tasks
from resources.models import Dataset, DatasetFile

CSV = b"id\n1\n2\n"


class Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        Handler.hits.append(self.path)
        if self.path == "/data.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)
        elif self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.end_headers()
        elif self.path.startswith("/loop"):
            n = int(self.path[5:] or 0)
            self.send_response(302)
            self.send_header("Location", f"/loop{n + 1}")
            self.end_headers()
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _fetch(project, owner, url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the worker's task is run by hand
        dataset = services.dataset_create_from_url(project=project, name="Remote", url=url,
                                                   created_by=owner)
    tasks.resource_fetch(kind="datasets", resource_id=str(dataset.pk))
    dataset.refresh_from_db()
    return dataset


def test_loopback_is_refused_by_default_without_a_request(project, owner, server,
                                                          django_capture_on_commit_callbacks):
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/data.csv", django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "inside this server's network" in dataset.failure_reason
    assert Handler.hits == [] and not DatasetFile.objects.exists()


def test_localhost_name_is_refused(project, owner, server, django_capture_on_commit_callbacks):
    dataset = _fetch(project, owner, f"http://localhost:{server}/data.csv", django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "inside this server's network" in dataset.failure_reason
    assert Handler.hits == []


@pytest.mark.parametrize("host", ["[::1]", "169.254.169.254", "10.1.2.3", "192.168.0.1", "0.0.0.0",
                                  "[::ffff:127.0.0.1]", "224.0.0.1", "100.100.100.200", "[fd00:ec2::254]"])
def test_internal_addresses_are_refused(project, owner, host, django_capture_on_commit_callbacks):
    dataset = _fetch(project, owner, f"http://{host}/x.csv", django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "inside this server's network" in dataset.failure_reason


def test_a_named_internal_host_is_allowed(project, owner, server, settings,
                                          django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/data.csv", django_capture_on_commit_callbacks)
    assert (dataset.status, dataset.size_bytes) == ("ready", len(CSV))


def test_a_redirect_to_an_internal_host_is_refused(project, owner, server, settings,
                                                   django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    url = f"http://127.0.0.1:{server}/to?http://localhost:{server}/data.csv"
    dataset = _fetch(project, owner, url, django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "inside this server's network" in dataset.failure_reason
    assert "/data.csv" not in Handler.hits


def test_a_redirect_to_another_scheme_is_refused(project, owner, server, settings,
                                                 django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/to?ftp://127.0.0.1/x",
                     django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "Only http:// and https://" in dataset.failure_reason


def test_redirects_are_limited(project, owner, server, settings, django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/loop0", django_capture_on_commit_callbacks)
    assert dataset.status == "failed" and "redirected more than 5 times" in dataset.failure_reason
    assert len(Handler.hits) == 6


def test_a_redirect_within_the_limit_is_followed(project, owner, server, settings,
                                                 django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/to?/data.csv", django_capture_on_commit_callbacks)
    assert dataset.status == "ready" and dataset.files.get().path == "data.csv"


def test_a_closed_and_a_silent_port_answer_the_same(project, owner, settings,
                                                    django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.TRAINSHED_FETCH_DEADLINE_SECONDS = 1
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)  # accepts the connection, never answers
    try:
        a = _fetch(project, owner, f"http://127.0.0.1:{closed_port}/x", django_capture_on_commit_callbacks)
        b = _fetch(project, owner, f"http://127.0.0.1:{silent.getsockname()[1]}/x",
                   django_capture_on_commit_callbacks)
    finally:
        silent.close()
    assert a.status == b.status == "failed"
    assert a.failure_reason == b.failure_reason


def test_a_dripping_download_ends_at_the_deadline(project, owner, server, settings,
                                                  django_capture_on_commit_callbacks):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.TRAINSHED_FETCH_DEADLINE_SECONDS = 1
    began = time.monotonic()
    dataset = _fetch(project, owner, f"http://127.0.0.1:{server}/drip", django_capture_on_commit_callbacks)
    assert time.monotonic() - began < 5
    assert dataset.status == "failed" and "longer than the limit of 1 seconds" in dataset.failure_reason
    assert not Dataset.objects.filter(status="ready").exists()
