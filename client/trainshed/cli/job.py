"""`trainshed job list|show|create|copy|start|stop|remove|logs`, in the active project (or
`--project ID`)."""

from __future__ import annotations

import time

import click

from trainshed.cli.common import client, echo, table
from trainshed.errors import TrainshedError
from trainshed.jobs import FOLLOW_EVERY, FOLLOW_RETRIES, FOLLOW_WAIT

STATUSES = ["new", "waiting", "starting", "running", "finished", "failed", "stopped"]

project_option = click.option("--project", "project_id", metavar="ID",
                              help="The project (default: the active project).")
job_id_argument = click.argument("job_id", metavar="ID")


def _jobs(project_id: str | None):
    return client(project_id).jobs


def _when(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else ""


def _describe(job: dict) -> str:
    gpus = f"{job['gpu_count']}× {job['gpu_type']}"
    line = f"{job['name']} ({job['id']}): {job['type']}, {job['status']}, {gpus}"
    if job["node"]:
        line += f" on {job['node']}"
    if job["status_reason"]:
        line += f" — {job['status_reason']}"
    return line


def _env_pairs(values: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not NAME=value.", param_hint="--env")
        env[name.strip()] = text
    return env


def _poll(jobs, job_id: str, offset: int, every: float, wait: float) -> dict:
    """While following, a passing failure (the server unreachable for a moment, a 5xx from a
    proxy or a busy database) is retried; a refusal (4xx), or the same failure FOLLOW_RETRIES
    times in a row, ends the command with its message. A poll with `wait` that the server
    answered empty at once (it does not wait) is followed by the rest of a pause of `every`."""
    for attempt in range(FOLLOW_RETRIES):
        asked = time.monotonic()
        try:
            page = jobs.logs(job_id, offset=offset, wait=wait)
            if wait and not page["text"] and not page["ended"]:
                time.sleep(max(0.0, every - (time.monotonic() - asked)))
            return page
        except TrainshedError as exc:
            transient = exc.status is None or exc.status >= 500
            if not transient or attempt == FOLLOW_RETRIES - 1:
                raise
            time.sleep(every)
    raise AssertionError("unreachable")  # pragma: no cover


@click.group("job")
def command() -> None:
    """Jobs of the active project."""


@command.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@project_option
def job_list(status: str | None, project_id: str | None) -> None:
    """List the jobs, newest first."""
    rows = [[j["id"], j["name"], j["type"], j["status"], f"{j['gpu_count']}× {j['gpu_type']}",
             j["node"] or "", f"{j['gpu_hours']:.2f}", _when(j["created_at"])]
            for j in _jobs(project_id).list(status=status)]
    if not rows:
        echo("No jobs.")
        return
    echo(table(["ID", "NAME", "TYPE", "STATUS", "GPUS", "NODE", "GPU-HOURS", "CREATED"], rows))


@command.command("show")
@job_id_argument
@project_option
def job_show(job_id: str, project_id: str | None) -> None:
    """The job, where it runs, its times and status history."""
    job = _jobs(project_id).get(job_id)
    echo(_describe(job))
    if job["url"]:
        echo(f"  open: {job['url']}")
    echo(f"  started: {_when(job['started_at']) or '-'}  ended: {_when(job['ended_at']) or '-'}"
               f"  GPU-hours: {job['gpu_hours']:.2f}")
    for event in job["events"]:
        who = f" ({event['actor']})" if event["actor"] else ""
        echo(f"  {_when(event['at'])}  {event['status']:<9} {event['message']}{who}")


@command.command("create")
@click.option("--name", required=True)
@click.option("--type", "type_", type=click.Choice(["training", "inference", "notebook", "endpoint"]),
              default="training", show_default=True)
@click.option("--gpu-type", required=True, help="A slug from `trainshed project gpu-types`.")
@click.option("--gpus", "gpu_count", type=int, default=1, show_default=True)
@click.option("--disk", "disk_gb", type=int, default=20, show_default=True, help="Disk size in GB.")
@click.option("--command", "commands", multiple=True,
              help="The command to run; repeat it for several (run in order), or give one string.")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE",
              help="An environment variable (repeatable).")
@click.option("--dataset", "datasets", multiple=True, metavar="ID", help="An input dataset (repeatable).")
@click.option("--model", "model", metavar="ID", help="An input model.")
@click.option("--output", "output_type", type=click.Choice(["none", "model"]), default="none",
              show_default=True, help="model: save output/ as a model when the job finishes.")
@click.option("--port", type=int, help="Endpoints: the port the command serves HTTP on.")
@click.option("--start", is_flag=True, help="Start it at once.")
@project_option
def job_create(name, type_, gpu_type, gpu_count, disk_gb, commands, env, datasets, model, output_type,
               port, start, project_id) -> None:
    """Create a job (and with --start, start it)."""
    jobs = _jobs(project_id)
    job = jobs.create(name, type=type_, gpu_type=gpu_type, gpu_count=gpu_count, disk_gb=disk_gb,
                      command=list(commands), env=_env_pairs(env), input_datasets=list(datasets),
                      input_model=model, output_type=output_type, port=port)
    echo(f"Created {job['name']} ({job['id']})")
    if start:
        echo(f"Started: {_describe(jobs.start(job['id']))}")


@command.command("copy")
@job_id_argument
@click.option("--name", help="The copy's name (default: the job's).")
@click.option("--gpu-type", help="Another GPU type (a slug from `trainshed project gpu-types`).")
@click.option("--gpus", "gpu_count", type=int, help="Another number of GPUs.")
@click.option("--command", "commands", multiple=True,
              help="Other command(s): repeat it for several, run in order.")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE",
              help="Replace the environment with these variables (repeatable).")
@click.option("--start", is_flag=True, help="Start the copy at once.")
@project_option
def job_copy(job_id, name, gpu_type, gpu_count, commands, env, start, project_id) -> None:
    """Copy a job to a new one with the same settings (and with --start, run it again)."""
    changes = {"name": name, "gpu_type": gpu_type, "gpu_count": gpu_count,
               "command": list(commands) or None, "env": _env_pairs(env) if env else None}
    job = _jobs(project_id).copy(job_id, start=start, **{k: v for k, v in changes.items() if v is not None})
    echo(f"{'Started' if start else 'Created'} {job['name']} ({job['id']}), a copy of {job_id}: "
         f"{_describe(job)}")


@command.command("start")
@job_id_argument
@project_option
def job_start(job_id: str, project_id: str | None) -> None:
    """Start a job (placed on a node, or waiting for free GPUs)."""
    echo(f"Started: {_describe(_jobs(project_id).start(job_id))}")


@command.command("stop")
@job_id_argument
@project_option
def job_stop(job_id: str, project_id: str | None) -> None:
    """Stop a job (a running one stops within seconds)."""
    job = _jobs(project_id).stop(job_id)
    if job["status"] == "running":
        echo(f"Stopping {job['name']}: it stops within seconds.")
    else:
        echo(f"Stopped: {_describe(job)}")


@command.command("remove")
@job_id_argument
@project_option
def job_remove(job_id: str, project_id: str | None) -> None:
    """Remove a job (a running one is stopped first)."""
    jobs = _jobs(project_id)
    name = jobs.get(job_id)["name"]
    jobs.remove(job_id)
    echo(f"Removed {name}")


@command.command("logs")
@job_id_argument
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output until the job ends.")
@click.option("--tail", type=click.IntRange(1, 10_000),
              help="Only the last N lines (then follow from there).")
@click.option("--every", type=click.FloatRange(0.1, 60), default=FOLLOW_EVERY, show_default=True,
              help="Least seconds between polls with --follow that find nothing new.")
@project_option
def job_logs(job_id: str, follow: bool, tail: int | None, every: float, project_id: str | None) -> None:
    """Print the job's output (secrets appear as ***)."""
    jobs = _jobs(project_id)
    page = jobs.logs(job_id, tail=tail) if tail else jobs.logs(job_id)
    while True:
        if page["text"]:
            echo(page["text"], nl=False)
        more = page["next_offset"] < page["size"] and page["text"]
        if not more and (not follow or page["ended"]):
            break
        if follow:  # at the end of the log, the poll waits on the server for what comes next
            page = _poll(jobs, job_id, page["next_offset"], every, 0 if more else FOLLOW_WAIT)
        else:
            page = jobs.logs(job_id, offset=page["next_offset"])
    if follow and page["status"] != "new":
        echo(f"[{page['status']}]", err=True)
