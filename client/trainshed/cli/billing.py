"""`trainshed billing`: your own billing account."""

from __future__ import annotations

import click

from trainshed.cli.common import client, table


@click.command("billing")
def command() -> None:
    """Your balance, where your charges go, and this month's charges by project."""
    b = client().billing.get()
    click.echo(f"Balance: {b['balance']} credits")
    if b["charges_to"]:
        click.echo(f"Charges go to the billing account of {b['charges_to']}")
    month = b["this_month"]
    click.echo(f"This month (from {month['start'][:10]}): {month['total']} credits")
    rows = [[p["name"], p["compute"], p["storage"], p["total"]] for p in month["by_project"]]
    if rows:
        click.echo(table(["PROJECT", "COMPUTE", "STORAGE", "TOTAL"], rows))
