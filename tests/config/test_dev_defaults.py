"""Development defaults are safe if exposed: without SECRET_KEY each install generates its own
into var/ (never a fixed public key), and while DEBUG is on the server refuses to listen on
anything but loopback unless TRAINSHED_DEBUG_ALLOW_REMOTE says so."""

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PRINT_KEY = "from django.conf import settings; print(\"KEY=\" + settings.SECRET_KEY)"


def _env(var_dir, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG", "TRAINSHED_DEBUG_ALLOW_REMOTE"}}
    env.update(TRAINSHED_VAR_DIR=str(var_dir), DEBUG="1", **extra)
    return env


def _key(var_dir, **extra) -> str:
    out = _manage("shell", "-c", PRINT_KEY, env=_env(var_dir, **extra)).stdout
    return next(line[4:] for line in out.splitlines() if line.startswith("KEY="))


def _manage(*args, env, timeout=60):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_each_development_install_gets_its_own_secret_key(tmp_path):
    first, again, other = _key(tmp_path / "a"), _key(tmp_path / "a"), _key(tmp_path / "b")
    assert len(first) >= 50 and first == again and first != other
    assert "development-only" not in first and "insecure" not in first
    key_file = tmp_path / "a" / "secret.key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_given_secret_key_is_used_as_is(tmp_path):
    key = "k" * 60
    assert _key(tmp_path, SECRET_KEY=key) == key
    assert not (tmp_path / "secret.key").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runserver_refuses_a_public_address_while_debug(tmp_path):
    for addr in (f"0.0.0.0:{_free_port()}", f"0:{_free_port()}"):
        result = _manage("runserver", addr, "--noreload", env=_env(tmp_path))
        assert result.returncode != 0
        assert "TRAINSHED_DEBUG_ALLOW_REMOTE" in result.stderr


def test_runserver_refuses_ipv6_any_while_debug(tmp_path):
    result = _manage("runserver", "-6", f"[::]:{_free_port()}", "--noreload", env=_env(tmp_path))
    assert result.returncode != 0 and "TRAINSHED_DEBUG_ALLOW_REMOTE" in result.stderr


def test_serve_refuses_a_public_address_while_debug(tmp_path):
    result = _manage("serve", "--addr", f"0.0.0.0:{_free_port()}", env=_env(tmp_path))
    assert result.returncode != 0 and "TRAINSHED_DEBUG_ALLOW_REMOTE" in result.stderr


def test_the_explicit_flag_allows_a_public_address(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"],
                            cwd=ROOT, env=_env(tmp_path, TRAINSHED_DEBUG_ALLOW_REMOTE="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        listening = False
        for _ in range(120):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    listening = True
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.25)
        assert listening, proc.stderr.read() if proc.poll() is not None else "not listening"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_loopback_is_allowed_while_debug(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.25)
        else:
            raise AssertionError("runserver did not listen on loopback")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
