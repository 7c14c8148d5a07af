"""What every command module shares: the client, tables, access-level options."""

from __future__ import annotations

import click

from trainshed.client import SyncTrainshed, Trainshed

LEVELS = click.Choice(["none", "read", "all"])


def client(project: str | None = None) -> SyncTrainshed:
    return Trainshed(project=project).sync


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *rows]]
    return "\n".join(lines)
