"""Downloads and accrual/enforcement run on separate Tasks queues with their own workers in
`manage.py serve`: a download dripping a byte at a time cannot make accrual late."""

import http.server
import threading
import time

import pytest
from django.core.management import call_command

from billing.tasks import TASK_PATH, ensure_scheduled
from config.management.commands.serve import processes
from resources import services
from resources.models import Dataset

pytestmark = pytest.mark.django_db(transaction=True)


class Drip(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def drip(settings):
    settings.TRAINSHED_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/slow.bin"
    httpd.shutdown()
    httpd.server_close()


def test_downloads_and_accrual_are_queued_apart(project, owner, drip):
    from django_tasks_db.models import DBTaskResult

    services.dataset_create_from_url(project=project, name="Slow", url=drip, created_by=owner)
    ensure_scheduled()
    queues = dict(DBTaskResult.objects.values_list("task_path", "queue_name"))
    assert queues == {"resources.tasks.fetch_resource": "downloads", TASK_PATH: "accrual"}


def test_an_accrual_worker_runs_accrual_while_a_download_drips(project, owner, drip):
    from django_tasks_db.models import DBTaskResult

    services.dataset_create_from_url(project=project, name="Slow", url=drip, created_by=owner)
    ensure_scheduled()
    began = time.monotonic()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "accrual",
                 verbosity=0)
    assert time.monotonic() - began < 10
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="SUCCESSFUL").exists()
    assert Dataset.objects.get(name="Slow").status == "new"  # the download waits for its own worker


def test_serve_runs_one_worker_per_queue():
    workers = [argv for name, argv, _env in processes("127.0.0.1:8000") if "db_worker" in argv]
    queues = sorted(argv[argv.index("--queue-name") + 1] for argv in workers)
    assert queues == ["accrual", "downloads"]


def test_an_old_accrual_task_on_the_default_queue_moves_to_its_queue(db):
    from django_tasks_db.models import DBTaskResult

    from billing.tasks import accrue_periodically

    accrue_periodically.using(queue_name="default").enqueue()
    ensure_scheduled()
    assert list(DBTaskResult.objects.values_list("queue_name", flat=True)) == ["accrual"]
