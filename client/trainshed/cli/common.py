"""What every command module shares: the client, tables, access-level options."""

from __future__ import annotations

import re

import click

from trainshed.client import SyncTrainshed, Trainshed

LEVELS = click.Choice(["none", "read", "all"])


def client(project: str | None = None) -> SyncTrainshed:
    """The command's client: one connection for all its calls, closed when the command ends."""
    sync = Trainshed(project=project).sync
    context = click.get_current_context(silent=True)
    if context is not None:
        context.find_root().call_on_close(sync.close)
    return sync


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *rows]]
    return "\n".join(lines)


# Terminal control sequences a server-side string could carry (a job's output, a name a member
# chose): CSI (colours, cursor moves, screen clears), OSC (window titles, hyperlinks), other ESC
# sequences, and C0/C1 control characters except newline and tab (a CR would overwrite a line).
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"          # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[@-Z\\-_]?"                  # other ESC sequences, or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"            # 8-bit CSI
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def echo(message="", *, err: bool = False, nl: bool = True) -> None:
    """click.echo that, when printing to a terminal, strips control sequences from the text (it
    holds server-side strings: job output, names). Piped output stays byte for byte."""
    text = str(message)
    if click.get_text_stream("stderr" if err else "stdout").isatty():
        text = strip_controls(text)
    click.echo(text, err=err, nl=nl)
