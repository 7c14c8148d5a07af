"""Jobs over the REST API, in the request's project (`X-Trainshed-Project`, else Personal).

Every operation asks `active_project(request, "jobs", level)` (= `access.require`, as the web views
do), looks the job up inside that project with `selectors.job_get` (another project's id, or a
removed job, is a 404) and calls one service. Mounted by `resources/api.py`.

Logs are served redacted only (each chunk is redacted again with the project's secrets as they
are now), never raw chunks. `GET /jobs/{id}/logs` answers a slice of the log: `?offset=` (bytes of
the log as stored, as `next_offset` said) or `?tail=` (the last lines), so a client follows a
running job by asking again from `next_offset` until `ended` and no text is left. A poll costs
what is new: chunks know their byte offsets, and a poll at the end reads no chunk. With `?wait=`
(seconds, at most LOG_WAIT_MAX) a poll at the end of a running job's log waits for its next chunk
or its end (`wake.log_waiting`: woken by the chunk's insert) instead of answering empty at once.
"""

import uuid
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from core.api import ERRORS, Pagination, RowSchema, Text
from projects.api_auth import active_project
from resources.jobs import selectors, services, wake
from resources.models import JOB_ACTIVE, Job, JobEvent, job_gpu_seconds

router = Router(tags=["jobs"])

JobStatus_ = Literal["new", "waiting", "starting", "running", "finished", "failed", "stopped"]
JobType_ = Literal["notebook", "training", "inference", "endpoint"]
Output_ = Literal["none", "model"]

#: The most text one answer of `GET /jobs/{id}/logs` carries; ask again from `next_offset`.
LOG_PAGE_BYTES = 1024 * 1024
TAIL_MAX = 10_000
#: The longest a poll may wait for new text: each waiting poll holds a worker thread and its
#: database connection (idle, not in a transaction), well below gunicorn's 30 s timeout.
LOG_WAIT_MAX = 10


# ---- shapes ------------------------------------------------------------------------------------


# A detail answer resolves a job from the object; a list's page is shaped by `_job_row` (a comment,
# not a docstring: that would become the schema's public description).
class JobOut(RowSchema):
    id: uuid.UUID
    name: str
    type: JobType_
    status: JobStatus_
    status_reason: str
    gpu_type: str = Field(description="The GPU type's slug.")
    gpu_count: int
    disk_gb: int
    command: str
    env: dict[str, str]
    input_datasets: list[uuid.UUID]
    input_model: uuid.UUID | None
    output_type: Output_
    port: int | None
    node: str | None = Field(description="The name of the node it runs (or ran) on.")
    exit_code: int | None
    gpu_hours: float
    url: str | None = Field(description="Where a running notebook (with its token) or endpoint answers.")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @staticmethod
    def resolve_gpu_type(job: Job) -> str:
        return job.gpu_type.slug

    @staticmethod
    def resolve_input_datasets(job: Job) -> list[uuid.UUID]:
        return [d.pk for d in job.input_datasets.all()]

    @staticmethod
    def resolve_input_model(job: Job) -> uuid.UUID | None:
        return job.input_model_id

    @staticmethod
    def resolve_node(job: Job) -> str | None:
        return job.node.name if job.node_id else None

    @staticmethod
    def resolve_gpu_hours(job: Job) -> float:
        return round(job.gpu_hours, 6)

    @staticmethod
    def resolve_url(job: Job, context) -> str | None:
        return _absolute(context["request"], selectors.job_url(job=job))

    @staticmethod
    def resolve_created_by(job: Job) -> str | None:
        return job.created_by.email if job.created_by_id else None


class JobEventOut(Schema):
    status: JobStatus_
    message: str
    actor: str | None
    at: datetime

    @staticmethod
    def resolve_actor(event: JobEvent) -> str | None:
        return event.actor.email if event.actor_id else None


class JobDetailOut(JobOut):
    events: list[JobEventOut]
    output_models: list[uuid.UUID] = Field(description="Models this job's output became.")

    @staticmethod
    def resolve_events(job: Job) -> list[JobEvent]:
        return list(selectors.job_events(job=job))

    @staticmethod
    def resolve_output_models(job: Job) -> list[uuid.UUID]:
        return list(job.output_models.values_list("pk", flat=True))


class JobIn(Schema):
    """A new job. `gpu_type` is a slug from `GET /projects/{id}/gpu-types`; `command` is one
    command per line (run in order by `sh -e`; notebooks may leave it empty); `env` holds
    NAME=value pairs; datasets and the model are ids of the same project; `port` is required for
    endpoints (the port the command serves HTTP on)."""

    name: Text
    type: JobType_ = "training"
    gpu_type: Text
    gpu_count: int = 1
    disk_gb: int = 20
    command: Text = ""
    env: dict[Text, Text] = Field(default_factory=dict)
    input_datasets: list[uuid.UUID] = Field(default_factory=list)
    input_model: uuid.UUID | None = None
    output_type: Output_ = "none"
    port: int | None = None


class LogQuery(Schema):
    offset: int = Field(0, ge=0, description="Start at this byte of the (redacted) log.")
    tail: int | None = Field(None, ge=1, le=TAIL_MAX, description="Only the last N lines (ignores offset).")
    wait: float = Field(0, ge=0, le=LOG_WAIT_MAX, description=(
        "At the end of a running job's log, wait up to this many seconds for new text (or the "
        "job's end) before answering empty."))


class LogOut(Schema):
    text: str = Field(description="The log from `offset` to `next_offset`, secrets replaced by ***.")
    offset: int
    next_offset: int = Field(description="Ask from here for what follows.")
    size: int = Field(description="The (redacted) log's size in bytes now.")
    status: JobStatus_
    ended: bool = Field(description="The job is not running (nor about to): once `next_offset` "
                                    "reaches `size`, no more text will come.")


# ---- helpers -----------------------------------------------------------------------------------


def _absolute(request: HttpRequest, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url and url.startswith("/") else url


def _job_row(request: HttpRequest, row: dict, input_datasets: list, now) -> dict:
    """`JobOut`'s fields of a list's row (`selectors.jobs_for_api_list`), as its resolvers give
    them for the job object (tests/api/test_api_list_items.py compares both field by field)."""
    seconds = job_gpu_seconds(ended_gpu_seconds=row["ended_gpu_seconds"], status=row["status"],
                              started_at=row["started_at"], gpu_count=row["gpu_count"], now=now)
    url = selectors.job_url_of(pk=row["pk"], job_type=row["type"], status=row["status"],
                               address=row["address"], on_node=row["node_id"] is not None,
                               agent_url=row["node__agent_url"])
    return {
        "id": row["pk"], "name": row["name"], "type": row["type"], "status": row["status"],
        "status_reason": row["status_reason"], "gpu_type": row["gpu_type__slug"],
        "gpu_count": row["gpu_count"], "disk_gb": row["disk_gb"], "command": row["command"],
        "env": row["env"], "input_datasets": input_datasets, "input_model": row["input_model_id"],
        "output_type": row["output_type"], "port": row["port"], "node": row["node__name"],
        "exit_code": row["exit_code"], "gpu_hours": round(seconds / 3600, 6),
        "url": _absolute(request, url), "created_by": row["created_by__email"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
        "started_at": row["started_at"], "ended_at": row["ended_at"],
    }


def _lookup(request: HttpRequest, job_id: uuid.UUID, level: str = "read") -> Job:
    project = active_project(request, "jobs", level)
    return selectors.job_get(project=project, pk=job_id)


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _chunks_from(job: Job, *, seq: int, limit: int = 64):
    """(start, redacted text as bytes, stored length) of the chunks from `seq` on, in order."""
    redact = selectors.job_redactor(job=job)
    while True:
        batch = list(job.log_chunks.filter(seq__gte=seq).order_by("seq")
                     .values_list("seq", "start", "text")[:limit])
        for _, start, text in batch:
            yield start, redact(text).encode(), len(text.encode())
        if len(batch) < limit:
            return
        seq = batch[-1][0] + 1


def _log_slice(job: Job, *, offset: int, tail: int | None) -> dict:
    """A slice of the redacted log on UTF-8 character boundaries. Offsets are bytes of the log as
    stored (each chunk was redacted when it came and knows where it starts); a poll reads only the
    chunks from its offset on, and a poll at the end reads none. A chunk is redacted again whole
    when served (for values set since; a value that changes a chunk's length moves its cut points
    within that chunk, never across chunks). The job's status was read before the log, so an ended
    job's slice up to `size` is its whole log."""
    size = job.log_bytes
    ended = job.status not in JOB_ACTIVE
    if tail is not None:
        return _log_tail(job, tail=tail, size=size, ended=ended)
    if offset >= size:
        return {"text": "", "offset": size, "next_offset": size, "size": size, "status": job.status,
                "ended": ended}
    first = (job.log_chunks.filter(start__lte=offset).order_by("-start", "-seq")
             .values_list("seq", flat=True).first()) or 0
    parts: list[bytes] = []
    begin = end = None
    room = LOG_PAGE_BYTES
    for start, data, stored in _chunks_from(job, seq=first):
        exact = len(data) == stored  # else served whole: its stored offsets do not map into it
        cut = min(max(0, offset - start), stored) if exact and begin is None else 0
        while cut < len(data) and _is_continuation(data[cut]):
            cut += 1
        stop = len(data)
        if exact and stop - cut > room:
            stop = cut + room
            while stop > cut and _is_continuation(data[stop]):
                stop -= 1
        if begin is None:
            begin = start + cut
        elif stop - cut > room:  # a chunk that does not fit waits for the next page
            break
        parts.append(data[cut:stop])
        end = start + (stop if exact else stored)
        room -= stop - cut
        if room <= 0 or stop < len(data):
            break
    if begin is None:
        begin = end = offset
    return {"text": b"".join(parts).decode(), "offset": begin, "next_offset": end,
            "size": max(size, end), "status": job.status, "ended": ended}


def _log_tail(job: Job, *, tail: int, size: int, ended: bool) -> dict:
    """The last `tail` lines (`selectors.job_log_part`: read from the last chunks back until they
    hold that many), redacted; offsets are bytes of the log as stored."""
    part = selectors.job_log_part(job=job, lines=tail)
    if not part.end:
        return {"text": "", "offset": size, "next_offset": size, "size": size, "status": job.status,
                "ended": ended}
    return {"text": part.text, "offset": part.start, "next_offset": part.end, "size": max(size, part.end),
            "status": job.status, "ended": ended}


# ---- operations --------------------------------------------------------------------------------


def _shape_page(request: HttpRequest, rows: list[dict]) -> list[dict]:
    """The page's rows as `JobOut` dicts, with their input datasets from one query."""
    datasets = selectors.input_dataset_ids(job_ids=[row["pk"] for row in rows])
    now = timezone.now()
    return [_job_row(request, row, datasets[row["pk"]], now) for row in rows]


@router.get("/jobs", response={200: list[JobOut], **ERRORS}, operation_id="jobs_list",
            url_name="jobs-list", summary="List the jobs of the project")
@paginate(Pagination, prepare=_shape_page)
def job_list(request: HttpRequest, status: JobStatus_ | None = None):
    """Newest first; `?status=` keeps the jobs with that status. Paged: follow `next`."""
    project = active_project(request, "jobs", "read")
    return selectors.jobs_for_api_list(project=project, status=status)


@router.post("/jobs", response={201: JobDetailOut, **ERRORS}, operation_id="jobs_create",
             url_name="jobs-create", summary="Create a job (status new)")
def job_create(request: HttpRequest, payload: JobIn):
    """Field errors name the field: a GPU type the project may not use (`gpu_type`), more GPUs than
    any node has (`gpu_count`), a dataset or model of another project (`input_datasets`,
    `input_model`), an empty command (`command`). Start it with `POST /jobs/{id}/start`."""
    project = active_project(request, "jobs", "manage")
    job = services.job_create(
        project=project, actor=request.user, name=payload.name, type=payload.type,
        gpu_type=payload.gpu_type, gpu_count=payload.gpu_count, disk_gb=payload.disk_gb,
        command=payload.command, env=payload.env, input_datasets=payload.input_datasets,
        input_model=payload.input_model, output_type=payload.output_type, port=payload.port,
    )
    return Status(201, selectors.job_get(project=project, pk=job.pk))


@router.get("/jobs/{job_id}", response={200: JobDetailOut, **ERRORS}, operation_id="jobs_get",
            url_name="jobs-detail", summary="Show a job, with its status history")
def job_get(request: HttpRequest, job_id: uuid.UUID):
    return _lookup(request, job_id)


@router.delete("/jobs/{job_id}", response={204: None, **ERRORS}, operation_id="jobs_remove",
               url_name="jobs-remove", summary="Remove a job (stopped first when it runs)")
def job_remove(request: HttpRequest, job_id: uuid.UUID):
    job = _lookup(request, job_id, "manage")
    services.job_remove(job=job, actor=request.user)
    return Status(204, None)


@router.post("/jobs/{job_id}/start", response={200: JobDetailOut, **ERRORS}, operation_id="jobs_start",
             url_name="jobs-start", summary="Start a job (or start a notebook or endpoint again)")
def job_start(request: HttpRequest, job_id: uuid.UUID):
    """The job is placed on a node ("starting"; a worker runs it) or waits for free GPUs
    ("waiting"). Refused (400, with the reason) without credits or when it cannot start again."""
    job = _lookup(request, job_id, "manage")
    services.job_start(job=job, actor=request.user)
    return selectors.job_get(project=job.project, pk=job.pk)


@router.post("/jobs/{job_id}/stop", response={200: JobDetailOut, **ERRORS}, operation_id="jobs_stop",
             url_name="jobs-stop", summary="Stop a job")
def job_stop(request: HttpRequest, job_id: uuid.UUID):
    """A waiting or starting job is stopped now; a running one within seconds (poll `GET`)."""
    job = _lookup(request, job_id, "manage")
    services.job_stop(job=job, actor=request.user)
    return selectors.job_get(project=job.project, pk=job.pk)


@router.get("/jobs/{job_id}/logs", response={200: LogOut, **ERRORS}, operation_id="jobs_logs",
            url_name="jobs-logs", summary="Read a job's log (secrets replaced by ***)")
def job_logs(request: HttpRequest, job_id: uuid.UUID, query: Query[LogQuery]):
    """At most 1 MiB of text per answer. To follow a job: ask with `?offset=<next_offset>` again
    (at once while `next_offset < size`, else with `wait` or after a pause) until `ended` is true
    and `next_offset == size`."""
    project = active_project(request, "jobs", "read")
    job = selectors.job_for_log(project=project, pk=job_id)
    job.project = project  # the redactor's project, already read
    page = _log_slice(job, offset=query.offset, tail=query.tail)
    if page["text"] or page["ended"] or not query.wait or query.tail is not None:
        return page

    def attempt():  # the job read again: its size and status as they are now
        nonlocal page
        fresh = selectors.job_for_log(project=project, pk=job_id)
        fresh.project = project
        page = _log_slice(fresh, offset=query.offset, tail=None)
        return page if page["text"] or page["ended"] else None

    wake.log_waiting(job_id=job.pk, wait=query.wait, attempt=attempt)
    return page
