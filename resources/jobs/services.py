"""Writes to jobs. Views, the API, the worker (runner), the billing accrual and the demo call these.

Who calls what:
- `job_create`, `job_start`, `job_stop`, `job_remove` take `actor` (the person; access is checked
  here) — `actor=None` is the system (e.g. the accrual stopping a job when credits run out);
- `jobs_place_waiting` and `jobs_reap` are the system's: the `capacity_freed` receiver and
  `manage.py jobs monitor` call them;
- the `run_*` functions are the runner's transitions (resources/jobs/runner.py).

Every status change goes through `_set_status`, which records a JobEvent with its time.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import NoticeKind
from accounts.notify import notify
from compute import selectors as compute_selectors
from compute import services as compute_services
from compute.models import BYTES_PER_GB, ComputeNode
from projects import access
from projects.audit import audit_record
from projects.keys import NAME_RE, RESERVED_NAMES, RESERVED_PREFIXES
from projects.models import Project
from resources import services as resource_services
from resources.jobs import wake
from resources.models import (
    JOB_ACTIVE,
    JOB_ON_NODE,
    Dataset,
    Job,
    JobEvent,
    JobLogChunk,
    JobOutput,
    JobRun,
    JobStatus,
    JobType,
    MLModel,
    StoredStatus,
    run_gpu_seconds,
)
from resources.records import resource_name_clean
from resources.signals import spending_check, spending_refusal

logger = logging.getLogger(__name__)

COMMAND_MAX = 20_000
ENV_MAX = 100
OUT_OF_CREDITS = "out of credits"


# ---- status changes ------------------------------------------------------------------------------


def _set_status(job: Job, status: str, *, message: str = "", actor=None, now=None, **fields) -> Job:
    """Change the job's status (and `fields`) and record the change. Call inside a transaction."""
    now = now or timezone.now()
    job.status = status
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "updated_at", *fields])
    event = JobEvent.objects.create(job=job, status=status, message=message[:2000],
                                    actor=actor if getattr(actor, "pk", None) else None, at=now)
    if status in (JobStatus.FINISHED, JobStatus.FAILED) and job.created_by_id:
        _tell_ended(job, event)
    if status not in JOB_ACTIVE:  # a follower waiting for more text hears that none will come
        wake.log_wake(job_id=job.pk)
    return job


def _tell_ended(job: Job, event: JobEvent) -> None:
    """The person who started the job hears how it ended (once per ending: the event's id)."""
    ended = job.get_status_display().lower()
    notify(user=job.created_by, kind=NoticeKind.JOB_ENDED, key=f"job_ended:{event.pk}",
           subject=f"Your job {job.name} {ended} ({job.project.name})",
           text=event.message if event.message.lower() != ended else "",
           url=reverse("resources:job-detail", args=[job.pk]))


def _locked(job: Job) -> Job:
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of a join (node).
    # The project's owner too: the spending check reads their billing account.
    return (Job.objects.select_for_update(of=("self",))
            .select_related("project", "project__owner", "node", "gpu_type").get(pk=job.pk))


def _who(actor) -> str:
    return actor.email if getattr(actor, "email", None) else "the system"


def _end_runs(job: Job, *, at, **fields) -> None:
    """End the job's open run at `at` (with `fields`, e.g. its last heartbeat) and add its
    GPU-seconds to the job's `ended_gpu_seconds`. Call inside the transaction that changes the
    job's status, so the job has an open run exactly while it is running."""
    open_runs = list(job.runs.filter(ended_at__isnull=True).values_list("pk", "started_at", "gpu_count"))
    if not open_runs:
        return
    JobRun.objects.filter(pk__in=[pk for pk, *_ in open_runs]).update(ended_at=at, **fields)
    seconds = sum(run_gpu_seconds(started_at, at, gpu_count) for _, started_at, gpu_count in open_runs)
    Job.objects.filter(pk=job.pk).update(ended_gpu_seconds=F("ended_gpu_seconds") + seconds)
    job.ended_gpu_seconds += seconds


# ---- create --------------------------------------------------------------------------------------


def _clean_env(env) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ValidationError({"env": "Give the environment as NAME=value pairs."})
    if len(env) > ENV_MAX:
        raise ValidationError({"env": f"At most {ENV_MAX} environment variables."})
    out = {}
    for name, value in env.items():
        name = str(name).strip()
        if not NAME_RE.match(name):
            raise ValidationError({"env": f"“{name}” is not a valid variable name: use uppercase "
                                          "letters, digits and underscores (e.g. EPOCHS)."})
        if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
            raise ValidationError({"env": f"{name} is set by Trainshed (or a project key): "
                                          "choose another name."})
        value = "" if value is None else str(value)
        if "\x00" in value:
            raise ValidationError({"env": f"The value of {name} contains a NUL character."})
        out[name] = value
    return out


def parse_env_text(text: str) -> dict[str, str]:
    """`NAME=value` per line (blank lines and # comments ignored) -> dict; a field error on `env`."""
    env: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "=" not in stripped:
            raise ValidationError({"env": f"Line {number} is not NAME=value: “{stripped[:40]}”."})
        name, value = stripped.split("=", 1)
        if name.strip() in env:
            raise ValidationError({"env": f"{name.strip()} is given twice."})
        env[name.strip()] = value
    return env


def _type_check(type) -> None:
    if type not in JobType.values:
        raise ValidationError({"type": "Choose notebook, training, inference or endpoint."})


def _command_clean(command, type) -> str:
    command = (command or "").replace("\r\n", "\n").strip()
    if type in JobType.values and type != JobType.NOTEBOOK and not command:
        raise ValidationError({"command": "Enter the command to run."})
    if len(command) > COMMAND_MAX:
        raise ValidationError({"command": f"The command is longer than {COMMAND_MAX} characters."})
    if "\x00" in command:
        raise ValidationError({"command": "The command contains a NUL character."})
    return command


def _disk_clean(disk_gb) -> int:
    try:
        disk_gb = int(disk_gb)
    except (TypeError, ValueError):
        raise ValidationError({"disk_gb": "Enter a whole number of GB."}) from None
    if not 1 <= disk_gb <= settings.TRAINSHED_JOB_MAX_DISK_GB:
        raise ValidationError({"disk_gb": f"Choose between 1 and {settings.TRAINSHED_JOB_MAX_DISK_GB} GB."})
    return disk_gb


def _disk_fit_check(project, disk_gb: int, gpu, datasets, model) -> None:
    """The inputs are copied onto the job's disk; and a disk no node has would wait for ever."""
    inputs = sum(d.size_bytes for d in datasets or ()) + (model.size_bytes if model else 0)
    if inputs > disk_gb * BYTES_PER_GB:
        raise ValidationError({"disk_gb": f"The inputs take {inputs / BYTES_PER_GB:.1f} GB of the job's "
                                          f"disk: choose at least {math.ceil(inputs / BYTES_PER_GB)} GB."})
    if gpu is not None:
        most = compute_selectors.max_disk_gb_for(project=project, gpu_type=gpu[0], gpu_count=gpu[1])
        if most is not None and disk_gb > most:
            raise ValidationError({"disk_gb": f"No {gpu[0].name} node this project may use has {disk_gb} GB "
                                              f"of storage; the largest has {most} GB."})


def _output_check(output_type, type, *, may_models: bool) -> None:
    if output_type not in JobOutput.values:
        raise ValidationError({"output_type": "Choose none or model."})
    if output_type == JobOutput.MODEL and type in (JobType.NOTEBOOK, JobType.ENDPOINT):
        raise ValidationError(
            {"output_type": "Only training and inference jobs save their output as a model."})
    if output_type == JobOutput.MODEL and not may_models:
        raise ValidationError({"output_type": "Saving the output as a model needs at least read access "
                                              "to this project's models."})


def _port_clean(port, type) -> int | None:
    if type != JobType.ENDPOINT:
        return None
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        port = None
    if port is None or not 1024 <= port <= 65535:
        raise ValidationError({"port": "Give the port the endpoint serves on (1024–65535)."})
    return port


@transaction.atomic
def job_create(*, project: Project, actor, name: str, type: str, gpu_type, gpu_count, command: str = "",
               env: dict | None = None, disk_gb: int = 20, input_datasets=(), input_model=None,
               output_type: str = JobOutput.NONE, port: int | None = None) -> Job:
    """A new job (status "new") in `project`. Field errors name the field, every field's at once,
    in the order of the fields (the API reports the first); nothing is written unless everything
    is valid. `gpu_type` is a GpuType or its slug; datasets and the model are rows or ids of
    `project` (anything else is a field error)."""
    if actor is not None:
        access.require(actor, project, "jobs", "manage")
    errors: dict[str, list[str]] = {}

    def guard(fn):
        try:
            return fn()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    name = guard(lambda: resource_name_clean(name))  # the same rule as datasets' and models'
    guard(lambda: _type_check(type))
    gpu = guard(lambda: compute_services.gpu_request_clean(project=project, gpu_type=gpu_type,
                                                           gpu_count=gpu_count))
    command = guard(lambda: _command_clean(command, type))
    env = guard(lambda: _clean_env(env))
    disk_gb = guard(lambda: _disk_clean(disk_gb))
    may_datasets, may_models = inputs_visible(actor=actor, project=project)
    datasets = guard(lambda: _datasets_of(project, input_datasets, visible=may_datasets))
    model = guard(lambda: _model_of(project, input_model, visible=may_models))
    if disk_gb is not None:
        guard(lambda: _disk_fit_check(project, disk_gb, gpu, datasets, model))
    guard(lambda: _output_check(output_type, type, may_models=may_models))
    port = guard(lambda: _port_clean(port, type))
    if errors:
        raise ValidationError(errors)
    job = Job(
        project=project, name=name, type=type, gpu_type=gpu[0], gpu_count=gpu[1], disk_gb=disk_gb,
        command=command, env=env, input_model=model, output_type=output_type, port=port,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    job.full_clean()
    job.save()
    job.input_datasets.set(datasets)
    JobEvent.objects.create(job=job, status=JobStatus.NEW, actor=job.created_by, at=job.created_at,
                            message="Created")
    return job


#: What a copy takes from its job; `job_copy`'s overrides may change any of them.
COPIED_FIELDS = ("name", "type", "gpu_type", "gpu_count", "command", "env", "disk_gb", "input_datasets",
                 "input_model", "output_type", "port")


def job_spec(*, job: Job) -> dict:
    """The job's spec as `job_create` takes it (the create form's initial values for a copy)."""
    return {"name": job.name, "type": job.type, "gpu_type": job.gpu_type, "gpu_count": job.gpu_count,
            "command": job.command, "env": dict(job.env), "disk_gb": job.disk_gb,
            "input_datasets": list(job.input_datasets.all()), "input_model": job.input_model,
            "output_type": job.output_type, "port": job.port}


@transaction.atomic
def job_copy(*, job: Job, actor, start: bool = False, **overrides) -> Job:
    """A new job in `job`'s project with its spec (changed by `overrides`), started if `start`.
    Everything is checked again as for a new job (the GPU type may be gone, an input deleted or
    unready, access narrowed), and a refused start writes nothing: one transaction."""
    unknown = set(overrides) - set(COPIED_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "A copy cannot set this field."})
    spec = job_spec(job=job) | overrides
    copy = job_create(project=job.project, actor=actor, **spec)
    JobEvent.objects.filter(job=copy).update(message=f"Created as a copy of “{job.name}” ({job.pk})")
    if start:
        job_start(job=copy, actor=actor)
    return copy


def inputs_visible(*, actor, project: Project) -> tuple[bool, bool]:
    """(may `actor` use datasets as inputs, models as input or output) in `project`: each needs
    read access to its type; `actor=None` is the system, which may."""
    if actor is None:
        return True, True
    return access.can(actor, project, "datasets", "read"), access.can(actor, project, "models", "read")


def _datasets_of(project: Project, values, *, visible: bool = True) -> list[Dataset]:
    ids = [getattr(v, "pk", v) for v in (values or [])]
    if not ids:
        return []
    try:
        # Without read access the project's datasets answer like another project's: no names leak.
        scope = Dataset.objects.in_project(project) if visible else Dataset.objects.none()
        found = {str(d.pk): d for d in scope.filter(pk__in=ids)}
    except (ValidationError, ValueError):
        found = {}
    missing = [str(i) for i in ids if str(i) not in found]
    if missing:
        raise ValidationError({"input_datasets": f"“{missing[0]}” is not a dataset of this project."})
    not_ready = [d.name for d in found.values() if d.status != StoredStatus.READY]
    if not_ready:
        raise ValidationError({"input_datasets": f"The dataset “{not_ready[0]}” is not ready."})
    return list(found.values())


def _model_of(project: Project, value, *, visible: bool = True) -> MLModel | None:
    if value in (None, ""):
        return None
    pk = getattr(value, "pk", value)
    try:
        model = MLModel.objects.in_project(project).filter(pk=pk).first() if visible else None
    except (ValidationError, ValueError):
        model = None
    if model is None:
        raise ValidationError({"input_model": f"“{pk}” is not a model of this project."})
    if model.status != StoredStatus.READY:
        raise ValidationError({"input_model": f"The model “{model.name}” is not ready."})
    return model


# ---- start, placement ----------------------------------------------------------------------------


def _gpu_indices(node: ComputeNode, job: Job) -> str:
    """The node's GPU numbers this job gets (CUDA_VISIBLE_DEVICES): the lowest ones no other job
    on the node holds. The caller holds the node's row lock (placement)."""
    used: set[int] = set()
    for held in (Job.objects.filter(node=node, status__in=JOB_ON_NODE).exclude(pk=job.pk)
                 .values_list("gpu_indices", flat=True)):
        used.update(int(i) for i in held.split(",") if i.strip().isdigit())
    free = [i for i in range(node.gpu_count) if i not in used]
    return ",".join(str(i) for i in free[: job.gpu_count])


def _place(job: Job, *, actor=None, **fields) -> bool:
    """Reserve GPUs for a locked job: starting (and enqueued after commit) or waiting. `fields`
    are saved with its status change (none when it stays waiting)."""
    reservation = compute_services.placement_reserve(
        project=job.project, gpu_type=job.gpu_type, gpu_count=job.gpu_count, holder=job.holder,
        label=f"{job.get_type_display()} job “{job.name}”", disk_gb=job.disk_gb,
    )
    if reservation is None:
        if job.status != JobStatus.WAITING:
            _set_status(job, JobStatus.WAITING, actor=actor,
                        message=f"No {job.gpu_type.name} node has {job.gpu_count} free GPU(s) and "
                                f"{job.disk_gb} GB of free disk now.",
                        status_reason="Waiting for a node with free GPUs and disk.", **fields)
        return False
    node = reservation.node
    _set_status(job, JobStatus.STARTING, actor=actor, message=f"Placed on {node.name}",
                node=node, gpu_indices=_gpu_indices(node, job), status_reason="", **fields)
    # The node's agent waits in a claim (`run_claim_next`): wake it when this commits.
    wake.node_wake(node_id=node.pk)
    return True


@transaction.atomic
def job_start(*, job: Job, actor) -> Job:
    """Start (or start again) a job: refused without credits; placed on a node now (starting,
    then the worker runs it) or waiting for resources."""
    if actor is not None:
        access.require(actor, job.project, "jobs", "manage")
    job = _locked(job)
    if job.removed_at is not None:
        raise ValidationError("This job was removed.")
    if not job.can_start:
        if job.status in JOB_ACTIVE:
            raise ValidationError(f"The job is already {job.get_status_display().lower()}.")
        raise ValidationError("A finished, failed or stopped training or inference job cannot be "
                              "started again: create a new job.")
    spending_check(project=job.project, actor=actor)
    _require_inputs_readable(job, actor)
    # What the last run left is cleared with the first status change below (one write, not two).
    reset = {"stop_requested_at": None, "exit_code": None, "address": ""}
    if job.status != JobStatus.NEW:
        _set_status(job, JobStatus.NEW, actor=actor, message=f"Start again requested by {_who(actor)}",
                    status_reason="", **reset)
        reset = {}
    _place(job, actor=actor, **reset)  # a new job always changes status there: placed or waiting
    return job


def _require_inputs_readable(job: Job, actor) -> None:
    """Access may have narrowed since the job was created: its inputs (and a model output) need
    read access to their type when it starts, as when it was created."""
    may_datasets, may_models = inputs_visible(actor=actor, project=job.project)
    if not may_datasets and job.input_datasets.exists():
        raise ValidationError({"input_datasets": "You no longer have read access to this project's "
                                                 "datasets, which this job uses as inputs."})
    if not may_models and (job.input_model_id or job.output_type == JobOutput.MODEL):
        raise ValidationError({"input_model": "You no longer have read access to this project's models, "
                                              "which this job uses."})


def jobs_place_waiting() -> int:
    """Try to place every waiting job (oldest first); returns how many got a node. A job whose
    project may no longer spend is stopped with the reason."""
    placed = 0
    for pk in Job.objects.filter(status=JobStatus.WAITING, removed_at__isnull=True).order_by(
            "created_at").values_list("pk", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update(of=("self",)).select_related("project", "gpu_type").filter(
                pk=pk, status=JobStatus.WAITING).first()
            if job is None:
                continue
            refusal = spending_refusal(project=job.project)
            if refusal:
                _set_status(job, JobStatus.STOPPED, message=refusal, status_reason=refusal,
                            ended_at=timezone.now())
                continue
            placed += int(_place(job))
    return placed


# ---- stop, remove --------------------------------------------------------------------------------


def _release(job: Job) -> None:
    compute_services.placement_release(holder=job.holder)


@transaction.atomic
def job_stop(*, job: Job, actor=None, reason: str = "") -> Job:
    """Stop a job. Waiting or not yet running: stopped now. Running: the runner is asked to stop
    it (terminate, then kill) within seconds and records "stopped". `actor=None` is the system
    (e.g. the billing accrual with reason="out of credits"); `reason` is shown on the job page."""
    if actor is not None:
        access.require(actor, job.project, "jobs", "manage")
    job = _locked(job)
    if job.status not in JOB_ACTIVE:
        raise ValidationError(f"The job is not running (it is {job.get_status_display().lower()}).")
    reason = (reason or "").strip() or f"Stopped by {_who(actor)}"
    if job.status == JobStatus.RUNNING:
        if job.stop_requested_at is None:
            job.stop_requested_at = timezone.now()
            job.status_reason = reason
            job.save(update_fields=["stop_requested_at", "status_reason", "updated_at"])
            JobEvent.objects.create(job=job, status=job.status, actor=actor if getattr(actor, "pk", None)
                                    else None, at=job.stop_requested_at,
                                    message=f"Stop requested: {reason}")
        return job
    _set_status(job, JobStatus.STOPPED, actor=actor, message=reason, status_reason=reason,
                ended_at=timezone.now() if job.started_at else job.ended_at)
    _release(job)
    return job


@transaction.atomic
def job_stop_by_operator(*, job: Job, operator) -> Job:
    """An operator's stop (the Django admin's action): no project access is asked, the reason
    on the job page says an operator stopped it, and the project's audit log names who."""
    job = job_stop(job=job, actor=None, reason=f"Stopped by an operator ({operator.email})")
    audit_record(project=job.project, actor=operator, action="job.stopped_by_operator", target=job.name,
                 after={"id": str(job.pk), "operator": operator.email})
    return job


@transaction.atomic
def job_remove(*, job: Job, actor) -> None:
    """Remove a job from its project: stopped first when it runs; its node's agent deletes its
    workspace once nothing runs there (`node_workspaces_kept`). The row stays (hidden) so its runs
    can still be metered."""
    if actor is not None:
        access.require(actor, job.project, "jobs", "manage")
    job = _locked(job)
    if job.removed_at is not None:
        return
    if job.status in JOB_ACTIVE:
        job_stop(job=job, actor=actor, reason=f"Removed by {_who(actor)}")
        job.refresh_from_db()
    job.removed_at = timezone.now()
    job.save(update_fields=["removed_at", "updated_at"])
    audit_record(project=job.project, actor=actor, action="job.deleted", target=job.name,
                 before={"id": str(job.pk), "status": job.status})


# ---- the reaper ----------------------------------------------------------------------------------


def jobs_reap(*, now=None, healthy_since=None) -> int:
    """Fail the jobs whose agent stopped sending heartbeats (it died, or its node is cut off),
    end their run and free their GPUs; the agent stops such a job when it hears of it. Returns
    how many were reaped. `healthy_since`: since when the database has been answering (the
    monitor's watch); nothing is reaped until a whole stale window has passed since then, since
    heartbeats missed while it was unreachable prove nothing (resources/jobs/monitor.py)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TRAINSHED_JOB_STALE_SECONDS)
    if healthy_since is not None and healthy_since > cutoff:
        return 0
    reaped = 0
    stale = Job.objects.filter(status__in=JOB_ON_NODE, last_heartbeat__lt=cutoff)
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update(of=("self",)).select_related("node").filter(
                pk=pk, status__in=JOB_ON_NODE, last_heartbeat__lt=cutoff).first()
            if job is None:
                continue
            seen = timezone.localtime(job.last_heartbeat).strftime("%Y-%m-%d %H:%M:%S")
            reason = (f"The worker running this job stopped sending heartbeats (last at {seen}); "
                      "the job is presumed dead and its GPUs were freed.")
            _set_status(job, JobStatus.FAILED, message=reason, status_reason=reason, now=now,
                        ended_at=job.last_heartbeat)
            _end_runs(job, at=job.last_heartbeat)
            _release(job)
            reaped += 1
    return reaped


# ---- what a node's agent does (resources/api_node.py) ----------------------------------------------


@transaction.atomic
def run_claim_next(*, node: ComputeNode) -> Job | None:
    """The oldest job placed on `node` and not yet claimed: starting -> running, with a new
    JobRun. None when there is none (or another request of the same agent took it)."""
    # Who started it and the log's last chunk number (the spec's) come with the claimed row.
    job = (Job.objects.select_for_update(of=("self",), skip_locked=True)
           .select_related("project", "node", "gpu_type", "created_by")
           .annotate(last_starter=Subquery(JobEvent.objects.filter(job=OuterRef("pk"), actor__isnull=False)
                                         .order_by("-at", "-id").values("actor")[:1]),
                     last_log_seq=Subquery(JobLogChunk.objects.filter(job=OuterRef("pk"))
                                           .order_by("-seq").values("seq")[:1]))
           .filter(node=node, status=JobStatus.STARTING, removed_at__isnull=True)
           .order_by("updated_at", "pk").first())
    if job is None:
        return None
    now = timezone.now()
    started_by = job.last_starter
    _set_status(job, JobStatus.RUNNING, now=now, message=f"Running on {node.name}",
                started_at=now, ended_at=None, last_heartbeat=now, status_reason="")
    JobRun.objects.create(job=job, started_at=now, last_heartbeat=now, started_by_id=started_by,
                          node=node, gpu_type=job.gpu_type, gpu_count=job.gpu_count)
    return job


def run_heartbeat(*, job: Job, address: str | None = None) -> tuple[bool, str]:
    """The agent runs the job: returns (stop requested?, status) as stored now. `address` is
    where an endpoint answers, once the agent knows it."""
    now = timezone.now()
    fields = {"last_heartbeat": now}
    if address is not None:
        fields["address"] = address[:300]
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**fields)
    JobRun.objects.filter(job=job, ended_at__isnull=True).update(last_heartbeat=now)
    return run_should_stop(job=job)


def run_should_stop(*, job: Job) -> tuple[bool, str]:
    row = Job.objects.filter(pk=job.pk).values_list("stop_requested_at", "status").first()
    if row is None:
        return True, JobStatus.FAILED
    return row[0] is not None or row[1] != JobStatus.RUNNING, row[1]


LOG_FULL = "\n[trainshed] The log reached its size limit; later output is not kept.\n"


@transaction.atomic
def run_log_append(*, job: Job, seq: int, text: str, redact) -> int:
    """Store chunk `seq` of the job's log, redacted (`redact`) before it is written; returns the
    last sequence number stored. A chunk sent again (the agent did not hear the answer) is not
    stored twice; past TRAINSHED_JOB_LOG_MAX_BYTES the rest is dropped with a note."""
    job = Job.objects.select_for_update(of=("self",)).get(pk=job.pk)
    # Read once the lock is held, in a statement of its own: its snapshot then sees a chunk stored
    # by whoever held the lock before (a subquery of the locking read would not, and a resent
    # chunk would meet the unique constraint instead of being acknowledged).
    last = job.log_chunks.order_by("-seq").values_list("seq", flat=True).first() or 0
    if seq <= last:
        return last
    if seq != last + 1:
        raise ValidationError({"seq": f"Expected chunk {last + 1}, got {seq}."})
    room = settings.TRAINSHED_JOB_LOG_MAX_BYTES - job.log_bytes
    if room <= 0:
        # Full: acknowledged, not kept. One empty chunk carries the number, so the next is seq + 1.
        placeholder = job.log_chunks.filter(seq=last, text="")
        if not placeholder.update(seq=seq):
            JobLogChunk.objects.create(job=job, seq=seq, text="", start=job.log_bytes)
        return seq
    data = redact(text).encode()
    if len(data) > room:
        data = data[:room].decode("utf-8", errors="ignore").encode() + LOG_FULL.encode()
    JobLogChunk.objects.create(job=job, seq=seq, text=data.decode("utf-8", errors="replace"),
                               start=job.log_bytes)
    Job.objects.filter(pk=job.pk).update(log_bytes=F("log_bytes") + len(data),
                                         log_lines=F("log_lines") + data.count(b"\n"))
    wake.log_wake(job_id=job.pk)  # its followers' waiting polls answer when this commits
    return seq


@transaction.atomic
def run_end(*, job: Job, status: str, reason: str = "", exit_code: int | None = None) -> Job:
    """The job's processes ended: record the outcome, end the run, free the GPUs. Only a running
    job changes (an agent reporting a reaped or stopped job again changes nothing)."""
    job = _locked(job)
    now = timezone.now()
    if job.status == JobStatus.RUNNING:
        if status == JobStatus.STOPPED and not job.stop_requested_at and job.type not in (
                JobType.NOTEBOOK, JobType.ENDPOINT):
            status = JobStatus.FAILED  # only a stop request, or a server's shutdown, stops
        message = reason or {JobStatus.FINISHED: "Finished"}.get(status, status)
        _set_status(job, status, message=message[:2000], status_reason=reason[:2000], now=now,
                    ended_at=now, last_heartbeat=now, exit_code=exit_code, address="")
        _end_runs(job, at=now, last_heartbeat=now)
        _release(job)
    return job


def node_workspaces_kept(*, node: ComputeNode) -> list[str]:
    """The jobs whose workspace the node's agent keeps: placed there and not removed (a notebook's
    files stay between its runs); it deletes every other workspace it holds."""
    return [str(pk) for pk in Job.objects.filter(node=node, removed_at__isnull=True)
            .values_list("pk", flat=True)]


def node_jobs_claim_unheard(*, node: ComputeNode) -> list[str]:
    """Jobs claimed by the node that its agent has not reported since (no job heartbeat: the
    claim's answer was likely lost on the way). Its agent runs them once it hears of them."""
    return [str(pk) for pk in Job.objects.filter(node=node, status=JobStatus.RUNNING, removed_at__isnull=True,
                                                 last_heartbeat=F("started_at")).values_list("pk", flat=True)]


def run_save_output_model(*, job: Job, entries) -> MLModel:
    """A finished training/inference job with output type "model": the files its agent uploaded
    from output/ become a model of its project, created by the job's creator (no access check:
    the project creates it)."""
    return resource_services.model_create_from_entries(
        project=job.project, name=f"{job.name} output", entries=entries, created_by=job.created_by,
        source_job=job,
    )
