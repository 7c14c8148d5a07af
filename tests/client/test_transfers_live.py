"""Big transfers end to end, over real HTTP: through a slow link under the README's production
gunicorn command (a transfer longer than gunicorn's --timeout still succeeds), and a download cut
in its middle is an error to the CLI, never a short file."""

import hashlib
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from trainshed import Trainshed, TrainshedError
from trainshed.cli import main

from accounts.api_keys import api_key_create
from projects.models import Project
from resources import services
from tests.factories import UserFactory
from tests.throttle import Proxy

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def alice(tmp_path, monkeypatch):
    for name in ("TRAINSHED_API_URL", "TRAINSHED_API_KEY", "TRAINSHED_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAINSHED_CONFIG_DIR", str(tmp_path / "cfg"))
    user = UserFactory(email="alice@example.com")
    user.raw_key = api_key_create(user=user, name="cli")[1]
    monkeypatch.setenv("TRAINSHED_API_KEY", user.raw_key)
    return user


def _dataset(user, files: dict[str, bytes]):
    return services.resource_create_from_upload(
        kind="datasets", project=Project.objects.personal_of(user), name="big", created_by=user,
        files=[SimpleUploadedFile(n, d) for n, d in files.items()],
    )


def test_a_cut_download_is_an_error_and_leaves_no_short_file(live_server, alice, tmp_path, monkeypatch):
    payload = os.urandom(3 * 1024 * 1024)
    dataset = _dataset(alice, {"weights.bin": payload, "z-last.txt": b"the end\n"})
    with Proxy(int(live_server.url.rsplit(":", 1)[1]), cut_after=1024 * 1024) as proxy:
        monkeypatch.setenv("TRAINSHED_API_URL", proxy.url)
        dest = tmp_path / "copy"
        result = CliRunner().invoke(main, ["dataset", "download", str(dataset.pk), str(dest)])
        assert result.exit_code == 1, result.output
        assert re.search(r"Error: The download of \S+ was cut off after [\d,]+ of [\d,]+ bytes",
                         result.stderr), result.stderr
        assert "Traceback" not in result.output
        assert [p for p in dest.rglob("*") if p.is_file()] == []  # no partial file, no later file
        # a new folder is filled hidden beside it and renamed once whole: neither is left
        assert not dest.exists() and not list(tmp_path.glob(".copy*"))

        with pytest.raises(TrainshedError, match="was cut off after"):
            Trainshed(api_url=proxy.url).sync.datasets.download_file(str(dataset.pk), "weights.bin",
                                                                      tmp_path / "one.bin")
        assert list(tmp_path.glob("*one.bin*")) == []

    # the same download, not cut, is whole
    monkeypatch.setenv("TRAINSHED_API_URL", live_server.url)
    whole = CliRunner().invoke(main, ["dataset", "download", str(dataset.pk), str(dest)])
    assert whole.exit_code == 0, whole.output
    assert (dest / "weights.bin").read_bytes() == payload
    assert sorted(p.name for p in dest.iterdir()) == ["weights.bin", "z-last.txt"]
    # into the folder that exists now: each file replaced whole, no temporary name left
    (dest / "weights.bin").write_bytes(b"old")
    again = CliRunner().invoke(main, ["dataset", "download", str(dataset.pk), str(dest)])
    assert again.exit_code == 0, again.output
    assert (dest / "weights.bin").read_bytes() == payload
    assert sorted(p.name for p in dest.iterdir()) == ["weights.bin", "z-last.txt"]


# ---- the README's production command, through a slow link ------------------------------------


def readme_gunicorn_command() -> list[str]:
    """The gunicorn command of README.md's Production section, as the operator runs it."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Production", 1)[1]
    line = next(li for li in section.splitlines() if li.startswith(".venv/bin/gunicorn"))
    return shlex.split(line.split("#", 1)[0])


def _with(args: list[str], option: str, value: str) -> list[str]:
    """`args` with `option value` replaced (or added)."""
    out = list(args)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


@pytest.fixture
def production_server(tmp_path):
    """gunicorn as the README runs it (worker class, threads), on this test database, with
    --timeout 3, far shorter than the transfers below, and one worker (it is all they need)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = readme_gunicorn_command()
    args = _with(_with(_with(args, "-b", f"127.0.0.1:{port}"), "--timeout", "3"), "-w", "1")
    args[0] = str(Path(sys.executable).parent / "gunicorn")
    db = connection.settings_dict
    env = {
        **os.environ, "DEBUG": "0", "SECRET_KEY": "slow-link-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "TRAINSHED_RATE_LIMITS": "0",
        "TRAINSHED_FERNET_KEYS": "ZmFrZS1iZW5jaC1rZXktMzItYnl0ZXMtbG9uZy0wMDA=",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TRAINSHED_VAR_DIR": str(tmp_path / "var"), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([*args, "--log-level", "info"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/me", timeout=1)
                break
            except urllib.error.HTTPError:  # any answer (here 401) means it serves
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield port, args, tmp_path / "gunicorn.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


SIZE = 8 * 1024 * 1024
RATE = 1_000_000  # bytes per second: 8 MB take 8 s, well past gunicorn's --timeout 3


@pytest.mark.postgres
def test_a_slow_upload_and_download_outlast_the_worker_timeout(production_server, alice, tmp_path,
                                                               monkeypatch):
    port, args, log = production_server
    assert "--timeout" in args and args[args.index("--timeout") + 1] == "3"
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(SIZE))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    with Proxy(port, rate=RATE) as proxy:
        monkeypatch.setenv("TRAINSHED_API_URL", proxy.url)
        started = time.monotonic()
        created = CliRunner().invoke(main, ["dataset", "create", "slow", "--path", str(source)])
        upload_seconds = time.monotonic() - started
        assert created.exit_code == 0, created.output + log.read_text()
        dataset_id = re.search(r"[0-9a-f-]{36}", created.output).group(0)

        started = time.monotonic()
        dest = tmp_path / "copy"
        downloaded = CliRunner().invoke(main, ["dataset", "download", dataset_id, str(dest)])
        download_seconds = time.monotonic() - started
        assert downloaded.exit_code == 0, downloaded.output + log.read_text()

    assert hashlib.sha256((dest / "weights.bin").read_bytes()).hexdigest() == digest
    # Both took longer than the worker timeout: a sync worker would have been killed mid-way.
    assert upload_seconds > 3 * 2 and download_seconds > 3 * 2, (upload_seconds, download_seconds)
    assert "WORKER TIMEOUT" not in log.read_text()
