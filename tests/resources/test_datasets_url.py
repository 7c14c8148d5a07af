"""Datasets from an http(s) address: the worker downloads them through the Tasks API.

A tiny HTTP server runs in a thread on 127.0.0.1; the task is enqueued on the database backend
and `manage.py db_worker --batch` runs it, exactly as in production."""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from projects.forms import ACTIVE_PROJECT_FIELD
from resources.models import Dataset, DatasetFile, MLModel
from tests.factories import sign_in_to

# The worker commits and checks its connection as in production, which a test wrapped in one
# transaction cannot survive on PostgreSQL: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"id,text\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(500))


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/one.txt", b"one")
        zf.writestr("b/two.txt", b"two")
    return buf.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    routes = {"/data.csv": CSV, "/bundle.zip": _zip(), "/empty": b""}

    def do_GET(self):  # noqa: N802
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    """The test server is on loopback, which downloads refuse unless the operator names it."""
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def signed_in(client, owner, project):
    return sign_in_to(client, owner, project)


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*",
                 verbosity=0)


def create_from(client, project, name, url, *, kind="dataset", capture):
    with capture(execute=True):  # the enqueue happens on commit
        response = client.post(reverse(f"resources:{kind}-import"),
                               {"url-name": name, "url-url": url,
                                f"url-{ACTIVE_PROJECT_FIELD}": str(project.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_url_download_becomes_ready_with_the_same_bytes(
    signed_in, project, server, django_capture_on_commit_callbacks
):
    create_from(signed_in, project, "Remote CSV", f"{server}/data.csv",
                capture=django_capture_on_commit_callbacks)
    dataset = Dataset.objects.get(name="Remote CSV")
    assert dataset.status == "new"
    page = signed_in.get(reverse("resources:dataset-detail", args=[dataset.pk])).content.decode()
    assert "New…" in page and 'hx-trigger="every 2s"' in page  # polls while in progress

    run_worker()

    dataset.refresh_from_db()
    assert (dataset.status, dataset.file_count, dataset.size_bytes) == ("ready", 1, len(CSV))
    got = signed_in.get(reverse("resources:dataset-file", args=[dataset.pk, "data.csv"]))
    assert b"".join(got.streaming_content) == CSV
    page = signed_in.get(reverse("resources:dataset-detail", args=[dataset.pk])).content.decode()
    assert "Ready" in page and 'hx-trigger="every 2s"' not in page


def test_url_archive_is_unpacked(signed_in, project, server, django_capture_on_commit_callbacks):
    create_from(signed_in, project, "Bundle", f"{server}/bundle.zip",
                capture=django_capture_on_commit_callbacks)
    run_worker()
    dataset = Dataset.objects.get(name="Bundle")
    assert dataset.status == "ready"
    assert sorted(dataset.files.values_list("path", flat=True)) == ["a/one.txt", "b/two.txt"]


@pytest.mark.parametrize(("path", "reason"), [
    ("/missing.csv", "The server answered 404 Not Found."),
    ("/empty", "The address returned an empty file."),
])
def test_failing_url_ends_failed_with_the_reason_and_no_files(
    signed_in, project, server, settings, django_capture_on_commit_callbacks, path, reason
):
    create_from(signed_in, project, "Broken link", f"{server}{path}",
                capture=django_capture_on_commit_callbacks)
    run_worker()
    dataset = Dataset.objects.get(name="Broken link")
    assert dataset.status == "failed" and dataset.failure_reason == reason
    page = signed_in.get(reverse("resources:dataset-detail", args=[dataset.pk])).content.decode()
    assert "Failed" in page and reason in page
    assert not DatasetFile.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_oversize_url_download_fails(signed_in, project, server, settings,
                                     django_capture_on_commit_callbacks):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 100
    create_from(signed_in, project, "Too big", f"{server}/data.csv",
                capture=django_capture_on_commit_callbacks)
    run_worker()
    dataset = Dataset.objects.get(name="Too big")
    assert dataset.status == "failed" and "larger than the limit of 100 bytes" in dataset.failure_reason


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.com/x", "Enter a valid URL."),
    ("file:///etc/passwd", "Enter a valid URL."),
    ("not a url", "Enter a valid URL."),
])
def test_only_http_addresses_are_accepted(signed_in, project, url, message):
    response = signed_in.post(reverse("resources:dataset-import"),
                              {"url-name": "x", "url-url": url,
                               f"url-{ACTIVE_PROJECT_FIELD}": str(project.pk)})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Dataset.objects.exists()


def test_models_download_too(signed_in, project, server, django_capture_on_commit_callbacks):
    create_from(signed_in, project, "Remote weights", f"{server}/data.csv", kind="model",
                capture=django_capture_on_commit_callbacks)
    run_worker()
    assert MLModel.objects.get(name="Remote weights").status == "ready"


def test_service_refuses_other_schemes(project, owner):
    from django.core.exceptions import ValidationError

    from resources import services

    with pytest.raises(ValidationError) as exc:
        services.dataset_create_from_url(project=project, name="x", url="ftp://example.com/x",
                                         created_by=owner)
    assert exc.value.message_dict == {"url": ["Enter an http:// or https:// address."]}
