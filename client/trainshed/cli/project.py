"""`trainshed project …`: projects, their members and settings."""

from __future__ import annotations

import click

from trainshed.cli.common import LEVELS, client, echo, table


@click.group("project")
def command() -> None:
    """Projects you own or are a member of."""


@command.command("list")
def project_list() -> None:
    """List your projects (MINE is X for those you own)."""
    rows = [[p["id"], p["name"], p["owner_email"], "X" if p["is_owner"] else ""]
            for p in client().projects.list()]
    echo(table(["ID", "NAME", "OWNER", "MINE"], rows))


@command.command("create")
@click.argument("name")
@click.option("--copy-keys", is_flag=True, help="Copy your Personal project's third-party keys.")
def project_create(name: str, copy_keys: bool) -> None:
    """Create a project you own."""
    project = client().projects.create(name, copy_personal_keys=copy_keys)
    echo(f"Created {project['name']} ({project['id']})")


project_option = click.option("--project", "project_id", metavar="ID",
                              help="The project (default: the active project).")


def _project_of(ts, project_id: str | None) -> str:
    """The id given, else the active project's (as the member commands), else Personal's."""
    return project_id or ts.project or ts.account.me()["project"]["id"]


@command.command("rename")
@click.argument("name")
@project_option
def project_rename(name: str, project_id: str | None) -> None:
    """Rename a project you own to NAME (default: the active project)."""
    ts = client(project_id)
    project = ts.projects.rename(_project_of(ts, project_id), name)
    echo(f"Renamed to {project['name']}")


@command.command("remove")
@click.argument("project_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def project_remove(project_id: str, yes: bool) -> None:
    """Delete a project you own, with everything in it."""
    ts = client()
    project = ts.projects.get(project_id)
    if not yes:
        click.confirm(f"Delete {project['name']} and everything in it?", abort=True)
    ts.projects.remove(project_id)
    echo(f"Deleted {project['name']}")


@command.command("leave")
@click.argument("project_id")
def project_leave(project_id: str) -> None:
    """Stop being a member of a project."""
    ts = client()
    project = ts.projects.get(project_id)
    ts.projects.leave(project_id)
    echo(f"Left {project['name']}")


@command.command("settings")
@click.option("--owned-compute-only/--no-owned-compute-only", default=None,
              help="Run jobs and store data only on the owner's nodes.")
@project_option
def project_settings(owned_compute_only: bool | None, project_id: str | None) -> None:
    """Show a project's settings, or change them with the options (default: the active project)."""
    ts = client(project_id)
    project_id = _project_of(ts, project_id)
    project = (ts.projects.get(project_id) if owned_compute_only is None
               else ts.projects.settings(project_id, owned_compute_only=owned_compute_only))
    echo(f"{project['name']}: owned compute only: {'yes' if project['owned_compute_only'] else 'no'}")


# ---- members -----------------------------------------------------------------------------------


@command.group("member")
def member() -> None:
    """Members of a project (default: the active project)."""


@member.command("list")
@project_option
def member_list(project_id: str | None) -> None:
    rows = [[m["email"], m["jobs"], m["datasets"], m["models"], m["status"]]
            for m in client(project_id).members.list()]
    echo(table(["EMAIL", "JOBS", "DATASETS", "MODELS", "STATUS"], rows))


def _show(m: dict) -> str:
    what = "Invited" if m["status"] == "invited" else "Member"
    return f"{what} {m['email']}: jobs {m['jobs']}, datasets {m['datasets']}, models {m['models']}"


@member.command("add")
@click.argument("email")
@click.option("--jobs", type=LEVELS, default="all", show_default=True)
@click.option("--datasets", type=LEVELS, default="read", show_default=True)
@click.option("--models", type=LEVELS, default="read", show_default=True)
@project_option
def member_add(email: str, jobs: str, datasets: str, models: str, project_id: str | None) -> None:
    """Add a member by e-mail (an address with no account yet is invited)."""
    echo(_show(client(project_id).members.add(email, jobs=jobs, datasets=datasets, models=models)))


@member.command("update")
@click.argument("email")
@click.option("--jobs", type=LEVELS)
@click.option("--datasets", type=LEVELS)
@click.option("--models", type=LEVELS)
@project_option
def member_update(email: str, jobs, datasets, models, project_id: str | None) -> None:
    """Change a member's access (levels not given stay as they are)."""
    echo(_show(client(project_id).members.update(email, jobs=jobs, datasets=datasets, models=models)))


@member.command("remove")
@click.argument("email")
@project_option
def member_remove(email: str, project_id: str | None) -> None:
    """Remove a member (or revoke a pending invitation)."""
    client(project_id).members.remove(email)
    echo(f"Removed {email}")


# ---- keys, secrets, GPU types (in cli/keys.py) --------------------------------------------------

def _attach() -> None:
    from trainshed.cli import keys

    for sub in (keys.key, keys.secret, keys.gpu_types):
        command.add_command(sub)


_attach()
