"""The `trainshed` command. Each command group lives in its own module listed in COMMANDS and
exposes `command` (a click command or group); a new group (job, dataset, model, billing, key) is
one module plus one line here.

Failures print one line to stderr and exit 1: a `TrainshedError` from anywhere becomes a
`click.ClickException`, never a traceback.
"""

from __future__ import annotations

import importlib

import click
import httpcore

from trainshed.errors import TrainshedError

COMMANDS = ["configure", "project", "job", "dataset", "model", "billing"]

# httpcore reads an answer 64 KiB at a time, and through asyncio each read costs as much Python as
# writing it (bench/RESULTS.md, transfers). The CLI owns its process, so its reads are large; an
# application using the SDK keeps httpcore's setting.
httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = 1024 * 1024


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TrainshedError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # a local file problem the SDK did not name
            raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None


@click.group(cls=Group)
@click.version_option(package_name="trainshed-client", prog_name="trainshed")
def main() -> None:
    """Trainshed: projects, jobs, datasets and models from the command line."""


for _name in COMMANDS:
    main.add_command(importlib.import_module(f"trainshed.cli.{_name}").command)
