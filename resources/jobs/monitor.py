"""The loop behind `manage.py jobs monitor`: reap stale jobs, place waiting ones, and go on through
database errors. A job is reaped only after a whole heartbeat window during which the database
answered: while it was unreachable (or so slow that heartbeats waited, e.g. a long lock) the
agents' heartbeats could not be stored, so their absence says nothing about the jobs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from resources.jobs import services

MAX_BACKOFF = 30.0


class DatabaseWatch:
    """Since when the database has answered every round promptly (as this process saw it)."""

    def __init__(self, *, stale_seconds: float | None = None, slow_seconds: float = 10.0):
        self.stale_seconds = (settings.TRAINSHED_JOB_STALE_SECONDS if stale_seconds is None
                              else stale_seconds)
        self.slow_seconds = slow_seconds
        # Unknown before this process started: count from now (a restart delays reaping once).
        self.healthy_since: datetime | None = timezone.now()

    def failed(self) -> None:
        self.healthy_since = None

    def answered(self, *, took: float) -> None:
        if self.healthy_since is None or took > self.slow_seconds:
            self.healthy_since = timezone.now()


def monitor_step(watch: DatabaseWatch) -> tuple[int, int]:
    began = time.monotonic()
    # Just after a failure the database's health is unknown: reap nothing this round.
    reaped = services.jobs_reap(healthy_since=watch.healthy_since) if watch.healthy_since else 0
    placed = services.jobs_place_waiting()
    watch.answered(took=time.monotonic() - began)
    return reaped, placed


def monitor_loop(step: Callable[[DatabaseWatch], object] = monitor_step, *, interval: float,
                 stopping: Callable[[], bool] = lambda: False, rounds: int | None = None,
                 sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] = print) -> None:
    """Run `step` every `interval` seconds until `stopping()` (or `rounds` rounds); a database
    error is logged and retried with backoff, never the end of the loop."""
    watch = DatabaseWatch()
    backoff, done = 1.0, 0
    while not stopping() and (rounds is None or done < rounds):
        done += 1
        wait = interval
        try:
            result = step(watch)
            if result and any(result):
                log(f"reaped {result[0]}, placed {result[1]}")
            backoff = 1.0
        except DatabaseError as exc:
            watch.failed()
            log(f"database error, retrying in {backoff:g}s: {exc}".strip())
            wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
        finally:
            with contextlib.suppress(DatabaseError):  # a dead connection: the next round reconnects
                close_old_connections()
        deadline = time.monotonic() + wait
        while not stopping() and time.monotonic() < deadline:
            sleep(min(0.5, max(0.0, deadline - time.monotonic())))
