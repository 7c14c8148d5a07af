"""Start the vendored OpenID Connect provider (tests/oidc/provider.mjs, panva/oidc-provider) in
its own process on loopback. Its npm packages are installed once into a cache directory
(`TRAINSHED_TEST_CACHE`, default ~/.cache/trainshed) with `npm ci` from the committed lock file."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("package.json", "package-lock.json", "provider.mjs")


def _cache_dir() -> Path:
    base = Path(os.environ.get("TRAINSHED_TEST_CACHE") or Path.home() / ".cache" / "trainshed")
    digest = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()[:12]
    return base / f"oidc-provider-{digest}"


def install() -> Path:
    """The directory to run the provider from, its node_modules installed (npm ci) if missing."""
    folder = _cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(HERE / name, folder / name)
    if not (folder / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                       check=True, timeout=600)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    def __init__(self, *, client_id: str, secret: str, redirect_uri: str):
        self.folder = install()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            ["node", "provider.mjs", str(self.port), client_id, secret, redirect_uri],
            cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"the OpenID Connect provider did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
