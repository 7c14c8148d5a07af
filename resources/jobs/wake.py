"""Waking a node's agent when a job is placed on it, so a job starts when it is placed rather
than at the agent's next poll; and waking a log's followers when a chunk is stored or the job ends.

The agent long-polls `POST /node/claim?wait=…`: the request claims, and when nothing is placed it
waits (at most settings.TRAINSHED_NODE_CLAIM_WAIT_SECONDS, below gunicorn's worker timeout) to be
woken, then claims again. On PostgreSQL the placing transaction sends a NOTIFY on the node's
channel, delivered when it commits, to whichever process holds the request; elsewhere (SQLite, one
process in development) a condition variable wakes the requests of this process, and every wait
also rechecks after RECHECK seconds in case another process placed the job.

A log's follower long-polls `GET /jobs/{id}/logs?wait=…` the same way (`log_waiting`), woken by
`log_wake` from the chunk's insert and from the job's end. A wait holds the request's database
connection LISTENing in autocommit, never inside a transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction

RECHECK = {"postgresql": 5.0}.get  # seconds between rechecks without a wake-up, per vendor
LOG_RECHECK = 1.0
_local = threading.Condition()
_woken: dict[str, int] = {}  # channel -> how many wake-ups this process saw
WOKEN_MAX = 10_000  # channels (a node's, a job log's) remembered before the counts start afresh


def _channel(node_id) -> str:
    return f"trainshed_node_{str(node_id).replace('-', '')}"


def _log_channel(job_id) -> str:
    return f"trainshed_log_{str(job_id).replace('-', '')}"


def _notify(channel: str) -> None:
    """NOTIFY `channel` when the current transaction commits (here and in other processes)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [channel])
    transaction.on_commit(lambda: _wake_local(channel))


def node_wake(*, node_id) -> None:
    """Wake the agent of `node_id` once the current transaction commits."""
    _notify(_channel(node_id))


def log_wake(*, job_id) -> None:
    """Wake the followers of the job's log once the current transaction commits."""
    _notify(_log_channel(job_id))


def _wake_local(channel: str) -> None:
    with _local:
        if len(_woken) >= WOKEN_MAX:  # bounded: a waiter whose count is dropped looks once more
            _woken.clear()
        _woken[channel] = _woken.get(channel, 0) + 1
        _local.notify_all()


def claim_waiting(*, node, wait: float, claim: Callable):
    """`claim(node=node)`, and while it finds nothing, wait to be woken, up to `wait` seconds."""
    return _waiting(_channel(node.pk), wait=wait, attempt=lambda: claim(node=node))


def log_waiting(*, job_id, wait: float, attempt: Callable):
    """`attempt()`, and while it answers None, wait for the log's next chunk (or the job's end),
    up to `wait` seconds; None when nothing came."""
    # A follower rechecks every second whatever it hears: a wake-up it missed costs it at most that.
    return _waiting(_log_channel(job_id), wait=wait, attempt=attempt, recheck=LOG_RECHECK)


def _waiting(channel: str, *, wait: float, attempt: Callable, recheck: float | None = None):
    deadline = time.monotonic() + wait
    if wait > 0 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _waiting_pg(channel, deadline=deadline, attempt=attempt,
                           recheck=recheck or RECHECK("postgresql"))
    while True:
        with _local:
            seen = _woken.get(channel, 0)  # before the attempt: a wake-up during it ends the wait
        if (found := attempt()) is not None:
            return found
        if (remaining := deadline - time.monotonic()) <= 0:
            return None
        with _local:
            _local.wait_for(lambda seen=seen: _woken.get(channel, 0) != seen, timeout=min(remaining, 1.0))


def _waiting_pg(channel: str, *, deadline: float, attempt: Callable, recheck: float):
    with connection.cursor() as cursor:
        cursor.execute(f'LISTEN "{channel}"')
    pg = connection.connection
    try:
        # Listening before the attempt: what is committed after this is either seen by the
        # attempt or heard afterwards (psycopg keeps notifications read during it for notifies()).
        while True:
            if (found := attempt()) is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            for _ in pg.notifies(timeout=min(remaining, recheck), stop_after=1):
                pass
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'UNLISTEN "{channel}"')
