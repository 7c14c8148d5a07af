"""The agent's side of the node API (/api/v1/node/…): one authenticated HTTP client, retries with
backoff for blips, and a clear end when the token is refused."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import httpx

logger = logging.getLogger("trainshed.agent")


class TokenRefused(Exception):
    """401: the node's token was revoked or rotated. The agent stops."""


class Gone(Exception):
    """404 on a job: the control plane no longer has it on this node (removed, or reaped)."""


class Refused(Exception):
    """400/403/409/422: the control plane refused the request; retrying would not help."""


class Control:
    """Calls the control plane as this node. `transport` lets the tests run the server in-process."""

    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, stopping: threading.Event | None = None):
        self.base = url.rstrip("/") + "/api/v1/node"
        self.stopping = stopping or threading.Event()
        self.timeout = timeout
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "trainshed-agent"},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, *, retry_for: float | None = None, **kwargs) -> Any:
        """One request; connection errors and 5xx are retried with backoff for `retry_for`
        seconds (None: until the agent stops). Returns the JSON body (None for 204)."""
        deadline = None if retry_for is None else time.monotonic() + retry_for
        delay = 0.5
        while True:
            try:
                response = self.http.request(method, self.base + path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 401:
                    raise TokenRefused("The control plane refused this node's token (revoked or rotated).")
                if response.status_code == 404:
                    raise Gone(path)
                if 400 <= response.status_code < 500:
                    raise Refused(_detail(response))
                if response.status_code < 400:
                    return None if response.status_code == 204 or not response.content else response.json()
                problem = f"HTTP {response.status_code}"
            if self.stopping.is_set() or (deadline is not None and time.monotonic() >= deadline):
                raise ConnectionError(f"The control plane did not answer {method} {path}: {problem}")
            logger.warning("control plane: %s %s failed (%s); again in %.1fs", method, path, problem, delay)
            self.stopping.wait(delay)
            delay = min(30.0, delay * 2) * (0.8 + 0.4 * random.random())  # noqa: S311 (jitter)

    def download(self, path: str, into, *, params: dict) -> int:
        """Stream a file of the API into the open binary file `into`; returns the bytes written.
        A cut stream is retried from the start (the caller's file is truncated again)."""
        delay = 0.5
        while True:
            try:
                into.seek(0)
                into.truncate()
                written = 0
                with self.http.stream("GET", self.base + path, params=params) as response:
                    if response.status_code == 401:
                        raise TokenRefused("The control plane refused this node's token.")
                    if response.status_code == 404:
                        raise Gone(path)
                    response.raise_for_status()
                    for chunk in response.iter_bytes(256 * 1024):
                        into.write(chunk)
                        written += len(chunk)
                return written
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                if self.stopping.is_set() or delay > 30:
                    raise ConnectionError(f"Could not download {path}: {exc}") from exc
                self.stopping.wait(delay)
                delay *= 2


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.text)
    except ValueError:
        return response.text[:500]
