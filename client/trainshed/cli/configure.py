"""`trainshed configure`: API URL and key (asked when not set), then the active project."""

from __future__ import annotations

import os

import click

from trainshed import config as cfg
from trainshed.cli.common import client, echo

PERSONAL = "Personal"


@click.command("configure")
def command() -> None:
    """Set the API URL, the API key and the active project (stored in config.json)."""
    current = cfg.Config.load()
    file = cfg.read_file()
    changes: dict = {}
    if not (os.environ.get("TRAINSHED_API_URL") or file.get("api_url")):
        changes["api_url"] = click.prompt("Trainshed API URL", default=cfg.DEFAULT_API_URL).rstrip("/")
    if not current.api_key:
        changes["api_key"] = click.prompt("API key (from Account settings → API keys)", hide_input=True)
    if changes:
        cfg.write_file(**changes)

    ts = client()
    projects = [p for p in ts.projects.list() if not p["is_personal"]]
    labels = _labels(projects)
    by_id = {p["id"]: p for p in projects}
    active = ts.project
    current_name = labels[active] if active in by_id else PERSONAL
    echo(f"Current Active Project: {current_name}")

    names = [labels[p["id"]] for p in projects] + [PERSONAL]
    while True:
        answer = click.prompt(f"Select Active Project: ({', '.join(names)})", default=current_name).strip()
        if answer == PERSONAL:
            chosen = None
            break
        matches = [p for p in projects if answer in (labels[p["id"]], p["id"])] or [
            p for p in projects if answer == p["name"]]
        if len(matches) == 1:
            chosen = matches[0]
            break
        if matches:
            # Projects of different owners may share a name: ask again with the owner beside it.
            echo(f"More than one project is called {answer!r}: type one of "
                 f"{', '.join(sorted(labels[p['id']] for p in matches))} (or its id).", err=True)
        else:
            echo(f"No project called {answer!r}. Choose one of: {', '.join(names)}.", err=True)

    cfg.write_file(project=chosen["id"] if chosen else None)
    if os.environ.get("TRAINSHED_PROJECT"):
        echo("Note: TRAINSHED_PROJECT is set and overrides config.json.", err=True)
    if chosen:
        echo(f"Active project: {labels[chosen['id']]} ({chosen['id']})")
    else:
        echo("Active project: Personal")


def _labels(projects: list[dict]) -> dict[str, str]:
    """{id: what to show}: the name, with the owner's email beside it where another project the
    person can see has the same name (projects of different owners may)."""
    seen: dict[str, int] = {}
    for p in projects:
        seen[p["name"].casefold()] = seen.get(p["name"].casefold(), 0) + 1
    return {p["id"]: f"{p['name']} ({p['owner_email']})" if seen[p["name"].casefold()] > 1 else p["name"]
            for p in projects}
