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
    by_id = {p["id"]: p for p in projects}
    active = ts.project
    current_name = by_id[active]["name"] if active in by_id else PERSONAL
    echo(f"Current Active Project: {current_name}")

    names = [p["name"] for p in projects] + [PERSONAL]
    while True:
        answer = click.prompt(f"Select Active Project: ({', '.join(names)})", default=current_name).strip()
        if answer == PERSONAL:
            chosen = None
            break
        matches = [p for p in projects if answer in (p["name"], p["id"])]
        if matches:
            chosen = matches[0]
            break
        echo(f"No project called {answer!r}. Choose one of: {', '.join(names)}.", err=True)

    cfg.write_file(project=chosen["id"] if chosen else None)
    if os.environ.get("TRAINSHED_PROJECT"):
        echo("Note: TRAINSHED_PROJECT is set and overrides config.json.", err=True)
    if chosen:
        echo(f"Active project: {chosen['name']} ({chosen['id']})")
    else:
        echo("Active project: Personal")



