"""`trainshed billing`: your own billing account."""

from __future__ import annotations

import click

from trainshed.cli.common import client, echo, table


@click.command("billing")
def command() -> None:
    """Your balance, where your charges go, and this month's charges by project."""
    b = client().billing.get()
    echo(f"Balance: {b['balance']} credits")
    if b["charges_to"]:
        echo(f"Charges go to the billing account of {b['charges_to']}")
    month = b["this_month"]
    echo(f"This month (from {month['start'][:10]}): {month['total']} credits")
    rows = [[p["name"], p["compute"], p["storage"], p["total"]] for p in month["by_project"]]
    if rows:
        echo(table(["PROJECT", "COMPUTE", "STORAGE", "TOTAL"], rows))
