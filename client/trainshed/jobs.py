"""Jobs in the active project: `ts.jobs`.

    job = await ts.jobs.create("train", gpu_type="a100", gpu_count=2,
                               command=["pip install -r requirements.txt", "python train.py"],
                               env={"EPOCHS": "3"}, input_datasets=[ds["id"]], output_type="model")
    await ts.jobs.start(job["id"])
    page = await ts.jobs.logs(job["id"])            # {text, next_offset, size, status, ended}
    page = await ts.jobs.logs(job["id"], offset=page["next_offset"])   # what came since

Logs come redacted (the project's secrets as ***). `follow()` (async only) yields new text until
the job ends; the CLI's `trainshed job logs ID --follow` does the same with the blocking calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable

from trainshed.client import Namespace, _seg
from trainshed.errors import TrainshedError

#: How long a poll at the end of the log asks the server to wait for new text (`?wait=`): the
#: answer comes as soon as a chunk is stored, so a line shows without a pause between polls.
FOLLOW_WAIT = 5.0
#: The least time between polls that found nothing new (a server that does not wait answers at
#: once: the client then pauses the rest of it).
FOLLOW_EVERY = 0.25
#: Following gives up after this many failures in a row (a refusal ends it at once).
FOLLOW_RETRIES = 5


def command_text(command: str | Iterable[str] | None) -> str:
    """One string, or several commands (one per line, run in order)."""
    if command is None:
        return ""
    if isinstance(command, str):
        return command
    return "\n".join(command)


class Jobs(Namespace):
    def _one(self, job_id: str) -> str:
        return f"/jobs/{_seg(job_id)}"

    async def list(self, *, status: str | None = None) -> list[dict]:
        params = {"status": status} if status else {}
        return await self._list("/jobs", **params)

    async def get(self, job_id: str) -> dict:
        """The job with its status history (`events`), node, times, `gpu_hours` and, for a
        running notebook or endpoint, its `url`."""
        return await self._client.request("GET", self._one(job_id))

    async def create(self, name: str, *, gpu_type: str, type: str = "training", gpu_count: int = 1,
                     command: str | Iterable[str] | None = None, env: dict | None = None,
                     disk_gb: int = 20, input_datasets: Iterable[str] = (),
                     input_model: str | None = None, output_type: str = "none",
                     port: int | None = None) -> dict:
        """A new job (status "new"); start it with `start()`. `gpu_type` is a slug from
        `gpu_types.list()`; `command` one string or a list of commands."""
        body = {
            "name": name, "type": type, "gpu_type": gpu_type, "gpu_count": gpu_count,
            "disk_gb": disk_gb, "command": command_text(command),
            "env": {str(k): str(v) for k, v in (env or {}).items()},
            "input_datasets": [str(d) for d in input_datasets],
            "input_model": str(input_model) if input_model else None,
            "output_type": output_type, "port": port,
        }
        return await self._client.request("POST", "/jobs", json=body)

    async def copy(self, job_id: str, *, start: bool = False, **changes) -> dict:
        """A new job with `job_id`'s spec, changed by `changes` (any field of `create`), started
        at once with `start=True`."""
        body: dict = {"start": start}
        for name, value in changes.items():
            if name == "command":
                value = command_text(value)
            elif name == "input_datasets":
                value = [str(d) for d in value]
            elif name == "env":
                value = {str(k): str(v) for k, v in value.items()}
            body[name] = value
        return await self._client.request("POST", f"{self._one(job_id)}/copy", json=body)

    async def start(self, job_id: str) -> dict:
        return await self._client.request("POST", f"{self._one(job_id)}/start")

    async def stop(self, job_id: str) -> dict:
        return await self._client.request("POST", f"{self._one(job_id)}/stop")

    async def remove(self, job_id: str) -> None:
        """Remove the job (a running one is stopped first)."""
        await self._client.request("DELETE", self._one(job_id))

    async def logs(self, job_id: str, *, offset: int = 0, tail: int | None = None,
                   wait: float | None = None) -> dict:
        """One slice of the redacted log: `{text, offset, next_offset, size, status, ended}`.
        Ask again from `next_offset` for more (at most 1 MiB comes per answer). With `wait`
        (seconds, at most 10), a poll at the end of a running job's log answers when new text
        comes or the job ends, else empty after that long."""
        params: dict = {"tail": tail} if tail else {"offset": offset}
        if wait and not tail:
            params["wait"] = wait
        return await self._client.request("GET", f"{self._one(job_id)}/logs", params=params)

    async def log_text(self, job_id: str) -> str:
        """The whole log as it is now."""
        parts, offset = [], 0
        while True:
            page = await self.logs(job_id, offset=offset)
            parts.append(page["text"])
            offset = page["next_offset"]
            if offset >= page["size"] or not page["text"]:
                return "".join(parts)

    async def follow(self, job_id: str, *, offset: int = 0, every: float = FOLLOW_EVERY
                     ) -> AsyncIterator[str]:
        """Yield new log text as it comes, until the job has ended and everything was read."""
        failures = 0
        wait = 0.0  # the first poll answers at once
        while True:
            asked = time.monotonic()
            try:
                page = await self.logs(job_id, offset=offset, wait=wait)
            except TrainshedError as exc:  # a passing failure (unreachable, 5xx) is retried
                failures += 1
                if (exc.status is not None and exc.status < 500) or failures >= FOLLOW_RETRIES:
                    raise
                await asyncio.sleep(every)
                continue
            failures = 0
            if page["text"]:
                yield page["text"]
            offset = page["next_offset"]
            if offset < page["size"] and page["text"]:
                continue
            if page["ended"]:
                return
            wait = FOLLOW_WAIT  # at the end: the next poll waits on the server for what comes
            if not page["text"] and (rest := every - (time.monotonic() - asked)) > 0:
                await asyncio.sleep(rest)  # it answered empty at once: it did not wait
