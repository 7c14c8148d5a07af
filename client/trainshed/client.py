"""The SDK: `Trainshed` with async resource namespaces, and `.sync` for blocking use.

Each namespace is a small class holding the client; another app adds its own (e.g. `jobs.py`
with `class Jobs(Namespace)`) and registers it in NAMESPACES below.

One client keeps one HTTP connection pool (an `httpx.AsyncClient`) for its lifetime, so a command
that makes many calls (a long list, a followed log) opens one connection, not one per call:
`async with Trainshed() as ts:` (or `await ts.aclose()`) closes it; `ts.sync` runs every call on
one event loop of its own for the same reason (`with Trainshed().sync as ts:` or `ts.close()`).
"""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from trainshed.config import Config
from trainshed.errors import TrainshedError
from trainshed.progress import Progress, counting

PROJECT_HEADER = "X-Trainshed-Project"
PAGE = 500  # the most the server gives in one answer: a 10,000-job list is 20 asks on one connection


class Namespace:
    def __init__(self, client: Trainshed):
        self._client = client

    async def _list(self, path: str, **params) -> list[dict]:
        """Every item of a paged list: each page's `next` cursor asks for the one after it."""
        items: list[dict] = []
        cursor = None
        while True:
            query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = await self._client.request("GET", path, params=query)
            items.extend(page["items"])
            cursor = page.get("next")
            if not cursor or not page["items"]:
                return items


class Projects(Namespace):
    async def list(self) -> list[dict]:
        return await self._list("/projects")

    async def get(self, project_id: str) -> dict:
        return await self._client.request("GET", f"/projects/{_seg(project_id)}")

    async def create(self, name: str, *, copy_personal_keys: bool = False) -> dict:
        return await self._client.request(
            "POST", "/projects", json={"name": name, "copy_personal_keys": copy_personal_keys}
        )

    async def rename(self, project_id: str, name: str) -> dict:
        return await self._client.request("PATCH", f"/projects/{_seg(project_id)}", json={"name": name})

    async def settings(self, project_id: str, *, owned_compute_only: bool) -> dict:
        return await self._client.request(
            "PATCH", f"/projects/{_seg(project_id)}", json={"owned_compute_only": owned_compute_only}
        )

    async def remove(self, project_id: str) -> None:
        await self._client.request("DELETE", f"/projects/{_seg(project_id)}")

    async def leave(self, project_id: str) -> None:
        await self._client.request("POST", f"/projects/{_seg(project_id)}/leave")


class Members(Namespace):
    """Members of a project: `project_id` defaults to the client's active project."""

    def _pid(self, project_id: str | None) -> str:
        pid = project_id or self._client.project
        if not pid:
            raise TrainshedError("The Personal project has no members: choose a project.")
        return _seg(pid)

    async def list(self, project_id: str | None = None) -> list[dict]:
        return await self._list(f"/projects/{self._pid(project_id)}/members")

    async def set(self, email: str, *, project_id: str | None = None, jobs: str | None = None,
                  datasets: str | None = None, models: str | None = None) -> dict:
        """Add (or invite) `email`, or change their access; levels left out keep their value."""
        body = {k: v for k, v in {"jobs": jobs, "datasets": datasets, "models": models}.items() if v}
        return await self._client.request(
            "PUT", f"/projects/{self._pid(project_id)}/members/{_seg(email)}", json=body
        )

    add = update = set

    async def remove(self, email: str, *, project_id: str | None = None) -> None:
        await self._client.request("DELETE", f"/projects/{self._pid(project_id)}/members/{_seg(email)}")


class Account(Namespace):
    async def me(self) -> dict:
        return await self._client.request("GET", "/me")


class _InProject(Namespace):
    """Things under /projects/{id}/: `project_id` defaults to the active project (Personal when
    none is set, asked of the server)."""

    async def _pid(self, project_id: str | None) -> str:
        pid = project_id or self._client.project
        if not pid:
            pid = (await self._client.request("GET", "/me"))["project"]["id"]
        return _seg(pid)


class Keys(_InProject):
    """Third-party keys of a project (owner only). Never returns a secret: `last4` only."""

    async def list(self, project_id: str | None = None) -> list[dict]:
        return await self._list(f"/projects/{await self._pid(project_id)}/keys")

    async def set(self, kind: str, *, secret: str | None = None, project_id: str | None = None,
                  **public: str) -> dict:
        """Set or replace the key of `kind` (aws, azure, gcp, docker, huggingface, kaggle, ngc,
        wasabi, git) with its public fields (key_id=, username=, client_id=, tenant_id=,
        project_id is the project: use gcp_project_id= for GCP, registry=, org=). When replacing,
        no `secret` keeps the stored one."""
        body = {("project_id" if k == "gcp_project_id" else k): v for k, v in public.items()
                if v is not None}
        if secret:
            body["secret"] = secret
        return await self._client.request(
            "PUT", f"/projects/{await self._pid(project_id)}/keys/{_seg(kind)}", json=body
        )

    put = set

    async def remove(self, kind: str, *, project_id: str | None = None) -> None:
        await self._client.request("DELETE", f"/projects/{await self._pid(project_id)}/keys/{_seg(kind)}")


class Secrets(_InProject):
    """Named secrets of a project, handed to its jobs as NAME=value (owner only; last4 only)."""

    async def list(self, project_id: str | None = None) -> list[dict]:
        return await self._list(f"/projects/{await self._pid(project_id)}/secrets")

    async def set(self, name: str, value: str, *, project_id: str | None = None) -> dict:
        return await self._client.request(
            "PUT", f"/projects/{await self._pid(project_id)}/secrets/{_seg(name)}", json={"value": value}
        )

    put = set

    async def remove(self, name: str, *, project_id: str | None = None) -> None:
        await self._client.request("DELETE", f"/projects/{await self._pid(project_id)}/secrets/{_seg(name)}")


class GpuTypes(_InProject):
    async def list(self, project_id: str | None = None) -> list[dict]:
        return await self._list(f"/projects/{await self._pid(project_id)}/gpu-types")

    async def refresh(self, project_id: str | None = None) -> dict:
        """Recompute the project's GPU types from the nodes online now (owner only)."""
        pid = await self._pid(project_id)
        return await self._client.request("POST", f"/projects/{pid}/gpu-types/refresh")


class Billing(Namespace):
    async def get(self) -> dict:
        """Your own billing account: balance, where charges go, this month by project."""
        return await self._client.request("GET", "/billing")


NAMESPACES: dict[str, type[Namespace]] = {
    "projects": Projects, "members": Members, "account": Account, "keys": Keys, "secrets": Secrets,
    "gpu_types": GpuTypes, "billing": Billing,
}


def _register_resources() -> None:
    from trainshed.jobs import Jobs
    from trainshed.resources import Datasets, Models

    NAMESPACES.update({"datasets": Datasets, "models": Models, "jobs": Jobs})


def _seg(value: str, safe: str = "@") -> str:
    return quote(str(value), safe=safe)


_register_resources()


class Trainshed:
    """Talks to one Trainshed server as one API key, in one active project.

    `project=` (an id) overrides `TRAINSHED_PROJECT`, which overrides config.json; None means the
    Personal project.
    """

    def __init__(self, *, project: str | None = None, api_key: str | None = None,
                 api_url: str | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.config = Config.load(api_url=api_url, api_key=api_key, project=project)
        self.timeout = timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._sync: SyncTrainshed | None = None
        for name, cls in NAMESPACES.items():
            setattr(self, name, cls(self))

    @property
    def project(self) -> str | None:
        return self.config.project

    @property
    def sync(self) -> SyncTrainshed:
        """The blocking twin of this client (the same one each time: one event loop, one pool)."""
        if self._sync is None:
            self._sync = SyncTrainshed(self)
        return self._sync

    def _session(self) -> httpx.AsyncClient:
        """The connection pool, made on first use. Its connections belong to the event loop that
        opened them, so a call from another loop (a second `asyncio.run`) starts a new pool."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.is_closed or self._http_loop is not loop:
            self._http = httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool (a later call opens a new one)."""
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = self._http_loop = None

    async def __aenter__(self) -> Trainshed:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        if not self.config.api_key:
            raise TrainshedError(
                "No API key: run `trainshed configure` or set TRAINSHED_API_KEY.", status=None
            )
        headers = {"Authorization": f"Bearer {self.config.api_key}", "Accept": "application/json"}
        if self.config.project:
            headers[PROJECT_HEADER] = self.config.project
        return headers

    @staticmethod
    def _refusal(response: httpx.Response, url: str) -> TrainshedError:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, str):
            detail = f"HTTP {response.status_code} from {url}"
        return TrainshedError(detail, status=response.status_code,
                              field=body.get("field") if isinstance(body, dict) else None)

    async def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                      data: dict | None = None, files: list | None = None, content: Any = None,
                      headers: dict[str, str] | None = None,
                      timeout: httpx.Timeout | float | None = None):
        """One API call; the answer's JSON (None for 204). `data`/`files` send multipart (file
        objects are streamed from disk); `content` a raw body (an async iterator of bytes is
        streamed), with its `headers` (e.g. Content-Type, Content-Length). A refusal raises
        TrainshedError with the server's message."""
        headers = {**self._headers(), **(headers or {})}
        url = f"{self.config.api_url}/api/v1{path}"
        try:
            response = await self._session().request(
                method, url, json=json, params=params, data=data, files=files, content=content,
                headers=headers, timeout=timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise TrainshedError(f"Cannot reach {self.config.api_url}: {exc}") from exc
        if response.status_code == 204:
            return None
        if response.status_code >= 400:
            raise self._refusal(response, url)
        try:
            return response.json()
        except ValueError:
            raise TrainshedError(f"Not a Trainshed API answer from {url}",
                                 status=response.status_code) from None

    async def download(self, path: str, into: BinaryIO, progress: Progress | None = None, *,
                       params: dict | None = None) -> int:
        """Stream the body of `GET path` into the binary file `into`; returns the bytes written.
        `progress` is called with (bytes, Content-Length or None) as they come. A body that ends
        before its announced length is an error, never a short file."""
        headers = self._headers()
        url = f"{self.config.api_url}/api/v1{path}"
        written = 0
        expected = None
        response_started = False
        try:
            async with self._session().stream("GET", url, headers=headers, params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._refusal(response, url)
                response_started = True
                length = response.headers.get("content-length")
                # the announced length counts the bytes as sent (before any Content-Encoding)
                if "Content-Encoding" not in response.headers:
                    expected = length if length and length.isdigit() else None
                into = counting(into, progress, int(length) if length and length.isdigit() else None)
                async for chunk in response.aiter_bytes():
                    into.write(chunk)
                    written += len(chunk)
        except httpx.HTTPError as exc:
            if not response_started and not written:
                raise TrainshedError(f"Cannot reach {self.config.api_url}: {exc}") from exc
            raise _cut(url, written, expected, exc) from exc
        if expected is not None and written != int(expected):
            raise _cut(url, written, expected, None)
        return written


def _cut(url: str, written: int, expected: str | None, exc: Exception | None) -> TrainshedError:
    of = f" of {int(expected):,}" if expected is not None else ""
    why = f" ({exc})" if exc else ""
    return TrainshedError(f"The download of {url} was cut off after {written:,}{of} bytes{why}: "
                          "nothing it wrote can be trusted; try again.")


class _SyncNamespace:
    def __init__(self, namespace: Namespace, runner: asyncio.Runner):
        self._namespace = namespace
        self._runner = runner

    def __getattr__(self, name: str):
        attr = getattr(self._namespace, name)
        if not callable(attr) or not asyncio.iscoroutinefunction(attr):
            return attr

        def call(*args, **kwargs):
            return self._runner.run(attr(*args, **kwargs))

        return call


class SyncTrainshed:
    """The same methods, blocking: `Trainshed(...).sync.projects.list()`. Every call runs on this
    object's own event loop, so they all share the client's connection pool; `close()` (or the
    end of a `with` block) closes both."""

    def __init__(self, client: Trainshed | None = None, **kwargs):
        self._client = client or Trainshed(**kwargs)
        self._runner = asyncio.Runner()
        for name in NAMESPACES:
            setattr(self, name, _SyncNamespace(getattr(self._client, name), self._runner))

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()
        self._runner = asyncio.Runner()  # usable again (a new loop and pool) after a close
        for name in NAMESPACES:
            getattr(self, name)._runner = self._runner

    def __enter__(self) -> SyncTrainshed:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def config(self) -> Config:
        return self._client.config

    @property
    def project(self) -> str | None:
        return self._client.project
