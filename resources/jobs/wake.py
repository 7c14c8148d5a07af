"""Waking a node's agent when a job is placed on it, so a job starts when it is placed rather
than at the agent's next poll.

The agent long-polls `POST /node/claim?wait=…`: the request claims, and when nothing is placed it
waits (at most settings.TRAINSHED_NODE_CLAIM_WAIT_SECONDS, below gunicorn's worker timeout) to be
woken, then claims again. On PostgreSQL the placing transaction sends a NOTIFY on the node's
channel, delivered when it commits, to whichever process holds the request; elsewhere (SQLite, one
process in development) a condition variable wakes the requests of this process, and every wait
also rechecks after RECHECK seconds in case another process placed the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction

RECHECK = {"postgresql": 5.0}.get  # seconds between rechecks without a wake-up, per vendor
_local = threading.Condition()
_placed: dict[str, int] = {}  # node id -> how many placements this process saw


def _channel(node_id) -> str:
    return f"trainshed_node_{str(node_id).replace('-', '')}"


def node_wake(*, node_id) -> None:
    """Wake the agent of `node_id` once the current transaction commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [_channel(node_id)])
    transaction.on_commit(lambda: _wake_local(str(node_id)))


def _wake_local(node_id: str) -> None:
    with _local:
        _placed[node_id] = _placed.get(node_id, 0) + 1
        _local.notify_all()


def claim_waiting(*, node, wait: float, claim: Callable):
    """`claim(node=node)`, and while it finds nothing, wait to be woken, up to `wait` seconds."""
    deadline = time.monotonic() + wait
    if wait > 0 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _claim_waiting_pg(node=node, deadline=deadline, claim=claim)
    key = str(node.pk)
    while True:
        with _local:
            seen = _placed.get(key, 0)  # before claiming: a placement during the claim wakes the wait
        if (job := claim(node=node)) is not None:
            return job
        if (remaining := deadline - time.monotonic()) <= 0:
            return None
        with _local:
            _local.wait_for(lambda seen=seen: _placed.get(key, 0) != seen, timeout=min(remaining, 1.0))


def _claim_waiting_pg(*, node, deadline: float, claim: Callable):
    channel = _channel(node.pk)
    with connection.cursor() as cursor:
        cursor.execute(f'LISTEN "{channel}"')
    pg = connection.connection
    try:
        # Listening before claiming: a job placed after this is either seen by the claim or
        # heard afterwards (psycopg keeps notifications read during the claim for notifies()).
        while True:
            if (job := claim(node=node)) is not None:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            for _ in pg.notifies(timeout=min(remaining, RECHECK("postgresql")), stop_after=1):
                pass
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'UNLISTEN "{channel}"')
