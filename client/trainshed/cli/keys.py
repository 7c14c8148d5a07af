"""`trainshed project key|secret|gpu-types …`: a project's third-party keys and secrets (owner
only) and the GPU types it may use. Secrets are read from stdin or a hidden prompt, never from the
command line (which other users of the machine can see), and never printed: last 4 only."""

from __future__ import annotations

import sys

import click

from trainshed.cli.common import client, echo, table

project_option = click.option("--project", "project_id", metavar="ID",
                              help="The project (default: the active project).")


def _read_secret(from_stdin: bool, what: str, *, flag: str, required: bool) -> str | None:
    """From stdin (one value; the final newline dropped) or a hidden prompt."""
    if from_stdin:
        value = sys.stdin.read().rstrip("\r\n")
    else:
        value = click.prompt(what, hide_input=True, default="", show_default=False, err=True)
    if required and not value:
        raise click.ClickException(f"The {what.lower()} is empty (give it on stdin with {flag}).")
    return value or None


def _last4(value: str) -> str:
    return f"…{value}" if value else ""


# ---- keys -------------------------------------------------------------------------------------


@click.group("key")
def key() -> None:
    """Third-party keys (AWS, Hugging Face, …) handed to the project's jobs (owner only)."""


@key.command("list")
@project_option
def key_list(project_id: str | None) -> None:
    rows = [[k["type"], k["key_id"] or "", _last4(k["last4"]), k["updated_at"][:19].replace("T", " ")]
            for k in client().keys.list(project_id)]
    if not rows:
        echo("No keys are set.")
        return
    echo(table(["TYPE", "KEY ID", "SECRET", "UPDATED"], rows))


@key.command("put")
@click.argument("kind", metavar="TYPE")
@click.option("--key-id", help="Access key id (aws, wasabi).")
@click.option("--username", help="User name (docker, kaggle, git).")
@click.option("--client-id", help="Client id (azure).")
@click.option("--tenant-id", help="Tenant id (azure).")
@click.option("--gcp-project-id", help="Google Cloud project id (gcp; read from the key file if empty).")
@click.option("--registry", help="Registry (docker).")
@click.option("--org", help="Organization (ngc).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from stdin (else a hidden prompt).")
@project_option
def key_put(kind: str, secret_stdin: bool, project_id: str | None, **public) -> None:
    """Set or replace the key of TYPE: aws, azure, gcp, docker, huggingface, kaggle, ngc, wasabi,
    git. When replacing, an empty secret keeps the stored one."""
    secret = _read_secret(secret_stdin, "Secret", flag="--secret-stdin", required=False)
    saved = client().keys.set(kind, secret=secret, project_id=project_id, **public)
    echo(f"{saved['label']} key saved (secret {_last4(saved['last4']) or 'set'}).")


@key.command("remove")
@click.argument("kind", metavar="TYPE")
@project_option
def key_remove(kind: str, project_id: str | None) -> None:
    client().keys.remove(kind, project_id=project_id)
    echo(f"Removed the {kind} key.")


# ---- secrets ----------------------------------------------------------------------------------


@click.group("secret")
def secret() -> None:
    """Named secrets handed to the project's jobs as NAME=value (owner only)."""


@secret.command("list")
@project_option
def secret_list(project_id: str | None) -> None:
    rows = [[s["name"], _last4(s["last4"]), s["updated_at"][:19].replace("T", " ")]
            for s in client().secrets.list(project_id)]
    if not rows:
        echo("No secrets are set.")
        return
    echo(table(["NAME", "VALUE", "UPDATED"], rows))


@secret.command("put")
@click.argument("name")
@click.option("--value-stdin", is_flag=True, help="Read the value from stdin (else a hidden prompt).")
@project_option
def secret_put(name: str, value_stdin: bool, project_id: str | None) -> None:
    """Create or replace the secret NAME (e.g. WANDB_API_KEY)."""
    value = _read_secret(value_stdin, "Value", flag="--value-stdin", required=True)
    saved = client().secrets.set(name, value, project_id=project_id)
    echo(f"Secret {saved['name']} saved.")


@secret.command("remove")
@click.argument("name")
@project_option
def secret_remove(name: str, project_id: str | None) -> None:
    client().secrets.remove(name, project_id=project_id)
    echo(f"Removed the secret {name}.")


# ---- GPU types --------------------------------------------------------------------------------


@click.command("gpu-types")
@click.option("--refresh", is_flag=True, help="Recompute from the nodes online now (owner only).")
@project_option
def gpu_types(refresh: bool, project_id: str | None) -> None:
    """The GPU types the project's jobs may use."""
    ts = client()
    types = ts.gpu_types.refresh(project_id)["gpu_types"] if refresh else ts.gpu_types.list(project_id)
    if not types:
        echo("No GPU types are available to this project.")
        return
    rows = [[t["slug"], t["name"], f"{t['memory_gb']} GB", t["credits_per_gpu_hour"]] for t in types]
    echo(table(["SLUG", "NAME", "MEMORY", "CREDITS/GPU-HOUR"], rows))
