"""`trainshed dataset …` and `trainshed model …`: the same commands for both, in the active
project (or `--project ID`)."""

from __future__ import annotations

import click

from trainshed.cli.common import client, echo, table
from trainshed.progress import transfer_bar

project_option = click.option("--project", "project_id", metavar="ID",
                              help="The project (default: the active project).")


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _describe(r: dict) -> str:
    line = f"{r['name']} ({r['id']}): {r['status']}, {r['file_count']} file(s), {human_size(r['size_bytes'])}"
    if r["status"] == "failed" and r["failure_reason"]:
        line += f": {r['failure_reason']}"
    return line


def build(kind: str, one: str) -> click.Group:
    """The command group for `kind` ("datasets"/"models"), named `one` ("dataset"/"model")."""

    def ns(project_id: str | None):
        return getattr(client(project_id), kind)

    @click.group(one, help=f"{kind.capitalize()} of the active project.")
    def group() -> None:
        pass

    @group.command("list")
    @click.option("--status", type=click.Choice(["new", "downloading", "ready", "failed"]))
    @project_option
    def resource_list(status: str | None, project_id: str | None) -> None:
        rows = [[r["id"], r["name"], r["status"], str(r["file_count"]), human_size(r["size_bytes"]),
                 r["created_at"][:19].replace("T", " ")]
                for r in ns(project_id).list(status=status)]
        if not rows:
            echo(f"No {kind}.")
            return
        echo(table(["ID", "NAME", "STATUS", "FILES", "SIZE", "CREATED"], rows))

    @group.command("show")
    @click.argument("resource_id", metavar="ID")
    @project_option
    def resource_show(resource_id: str, project_id: str | None) -> None:
        api = ns(project_id)
        echo(_describe(api.get(resource_id)))
        for f in api.files(resource_id):
            echo(f"  {f['path']}  {human_size(f['size_bytes'])}")

    @group.command("create")
    @click.argument("name")
    @click.option("--path", type=click.Path(exists=True),
                  help="A folder (its files, with folders) or one file.")
    @click.option("--url", help="An http(s) address the server downloads in the background.")
    @project_option
    def resource_create(name: str, path: str | None, url: str | None, project_id: str | None) -> None:
        """Upload NAME from --path, or have the server fetch it from --url."""
        if (path is None) == (url is None):
            raise click.UsageError("Give either --path or --url.")
        with transfer_bar(f"Uploading {name}") as progress:
            made = ns(project_id).create(name, path=path, url=url, progress=None if url else progress)
        if url:
            echo(f"Created {made['name']} ({made['id']}): the server downloads it in the background.")
        else:
            echo(f"Uploaded {_describe(made)}")

    @group.command("rename")
    @click.argument("resource_id", metavar="ID")
    @click.argument("name")
    @project_option
    def resource_rename(resource_id: str, name: str, project_id: str | None) -> None:
        echo(f"Renamed to {ns(project_id).rename(resource_id, name)['name']}")

    @group.command("download")
    @click.argument("resource_id", metavar="ID")
    @click.argument("dest", type=click.Path(file_okay=False))
    @project_option
    def resource_download(resource_id: str, dest: str, project_id: str | None) -> None:
        """Download every file into the folder DEST (created if needed)."""
        with transfer_bar("Downloading") as progress:
            written = ns(project_id).download(resource_id, dest, progress=progress)
        echo(f"Downloaded {len(written)} file(s) into {dest}")

    @group.command("remove")
    @click.argument("resource_id", metavar="ID")
    @project_option
    def resource_remove(resource_id: str, project_id: str | None) -> None:
        api = ns(project_id)
        name = api.get(resource_id)["name"]
        api.remove(resource_id)
        echo(f"Deleted {name}")

    return group


datasets = build("datasets", "dataset")
models = build("models", "model")
