import contextlib
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_node

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # pytest-django turns DEBUG off; doctor judges production separately


def _doctor():
    out = StringIO()
    try:
        call_command("doctor", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_doctor_reports_no_online_node_then_ok():
    code, text = _doctor()
    assert code == 1
    assert "No online compute node" in text and "Migrations applied." in text
    make_node(online=True)
    code, text = _doctor()
    assert code == 0, text
    assert "1 compute node(s) online." in text and "Everything looks right." in text


def test_doctor_reports_tasks_waiting_for_a_worker():
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    make_node(online=True)
    DBTaskResult.objects.create(
        status="READY", args_kwargs={"args": [], "kwargs": {}}, task_path="x.y", queue_name="default",
        backend_name="default", run_after=timezone.now() - timedelta(minutes=10), priority=0,
    )
    code, text = _doctor()
    assert code == 1 and "is `manage.py db_worker` running?" in text


def test_doctor_in_production_names_missing_fernet_key_and_console_mail(settings, monkeypatch):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    monkeypatch.delenv("TRAINSHED_FERNET_KEYS", raising=False)
    make_node(online=True)
    code, text = _doctor()
    assert code == 1
    assert "No Fernet key in production: set TRAINSHED_FERNET_KEYS." in text
    assert "E-mail backend is console/locmem in production" in text


def test_doctor_names_a_node_that_cannot_sandbox(db):
    make_node(name="old-box", sandbox_ok=False, sandbox_reason="bwrap is not installed")
    out = StringIO()
    with contextlib.suppress(SystemExit):  # doctor exits non-zero when it finds a problem
        call_command("doctor", stdout=out)
    assert "Node old-box cannot sandbox jobs (bwrap is not installed): it runs only its owner's jobs." in out.getvalue()
