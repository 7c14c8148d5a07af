"""Reads of jobs. Every query starts from the project (`Job.objects.in_project`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.shortcuts import get_object_or_404
from django.urls import reverse

from projects.keys import redactor
from projects.models import Project
from resources.models import Job, JobStatus, JobType

TAIL_LINES = 200
TAIL_CHUNKS = 40


def _status(status: str | None) -> str | None:
    return status if status in JobStatus.values else None


def jobs_list(*, project: Project, status: str | None = None):
    """The project's jobs, newest first (of one status, if a known one is given), with their GPU
    type, node and creator loaded."""
    qs = Job.objects.in_project(project)
    if _status(status) is not None:
        qs = qs.filter(status=status)
    return qs.select_related("gpu_type", "node", "created_by").order_by("-created_at", "pk")


# What the jobs list shows of each job (and what its GPU-hours are computed from).
LIST_FIELDS = ("name", "type", "status", "gpu_count", "created_at", "started_at", "ended_gpu_seconds",
               "gpu_type__name", "node__name", "created_by__email")


def jobs_for_list(*, project: Project, status: str | None = None):
    """`jobs_list` with only the columns the list shows: one query for a page at any size."""
    return jobs_list(project=project, status=status).only(*LIST_FIELDS)


def input_dataset_ids(*, job_ids) -> dict:
    """{job id: [its input datasets' ids]} for a page of one project's jobs, from one query on the
    link table: a list's prefetch of the datasets themselves built a manager per job and cost more
    than the rest of the page."""
    ids: dict = {pk: [] for pk in job_ids}
    links = (Job.input_datasets.through.objects.filter(job_id__in=ids)
             .order_by("job_id", "dataset_id").values_list("job_id", "dataset_id"))
    for job_id, dataset_id in links:
        ids[job_id].append(dataset_id)
    return ids


# What the API's job list answers of each job (`JobOut`), its URL and GPU-hours included.
API_LIST_VALUES = ("pk", "name", "type", "status", "status_reason", "gpu_count", "disk_gb", "command", "env",
                   "input_model_id", "output_type", "port", "exit_code", "address", "ended_gpu_seconds",
                   "created_at", "updated_at", "started_at", "ended_at", "node_id", "node__name",
                   "node__agent_url", "gpu_type__slug", "created_by__email")


def jobs_for_api_list(*, project: Project, status: str | None = None):
    """`jobs_list` as rows of the columns the API answers (API_LIST_VALUES), not objects: a
    page of 100 jobs built as models and read back field by field cost twice as much."""
    return jobs_list(project=project, status=status).select_related(None).values(*API_LIST_VALUES)


def job_get(*, project: Project, pk) -> Job:
    """One job of `project`; another project's id (or a removed job) is a 404 like a missing one."""
    return get_object_or_404(
        Job.objects.in_project(project).select_related(
            "project", "gpu_type", "node", "created_by", "input_model")
        .prefetch_related("runs", "input_datasets"),
        pk=pk,
    )


def job_for_log(*, project: Project, pk) -> Job:
    """One job of `project` with only what serving its log needs (a poll is frequent: one row)."""
    fields = ("id", "project", "status", "log_bytes", "log_lines")
    return get_object_or_404(Job.objects.in_project(project).only(*fields), pk=pk)


def job_events(*, job: Job):
    return job.events.select_related("actor").order_by("at", "id")


def job_redactor(*, job: Job) -> Callable[[str], str]:
    return redactor(project=job.project)


def job_log_tail(*, job: Job, lines: int = TAIL_LINES, redact: Callable[[str], str] | None = None) -> str:
    """The last `lines` lines of the job's log, secrets replaced by ***."""
    chunks = list(job.log_chunks.order_by("-seq").values_list("text", flat=True)[:TAIL_CHUNKS])
    text = "".join(reversed(chunks))
    text = "\n".join(text.splitlines()[-lines:])
    redact = redact or job_redactor(job=job)
    return redact(text)


@dataclass(frozen=True)
class LogPart:
    """Lines of a log between two byte offsets of the stored log, secrets replaced by ***."""

    text: str
    start: int  # where the part starts: "load earlier" asks for what comes before it
    end: int
    lines: int  # lines in the part
    lines_before: int  # lines of the log before `start`


def job_log_part(*, job: Job, before: int | None = None, after_lines: int = 0,
                 lines: int = TAIL_LINES) -> LogPart:
    """The `lines` lines before byte `before` of the stored log (None: its end), read from the
    chunks back until they hold that many (chunks hold whole lines and know their offsets). The
    log has `job.log_lines` lines; `after_lines` of them come after `before` (what the page shows
    already), so the lines before the part are counted without reading them."""
    end = None if before is None else max(0, min(before, job.log_bytes))
    chunks: list[tuple[int, str]] = []
    count = 0
    older = job.log_chunks.order_by("-seq").values_list("start", "text")
    if end is not None:
        older = older.filter(start__lt=end)
    while count <= lines and (batch := list(older[len(chunks):len(chunks) + 50])):
        for start, text in batch:
            chunks.append((start, text))
            count += text.count("\n")
            if count > lines:
                break
    if not chunks:
        return LogPart(text="", start=end or 0, end=end or 0, lines=0, lines_before=0)
    if end is None:  # the tail: up to the end of the newest chunk
        end = chunks[0][0] + len(chunks[0][1].encode())
    chunks.reverse()
    data = "".join(text for _, text in chunks).encode()[: end - chunks[0][0]]
    kept = data.decode("utf-8", errors="ignore").splitlines(keepends=True)[-lines:]
    text = "".join(kept)
    start = end - len(text.encode())
    shown = len(kept)
    return LogPart(text=job_redactor(job=job)(text), start=start, end=end, lines=shown,
                   lines_before=max(0, max(job.log_lines, shown + after_lines) - shown - after_lines))


def job_log_after(*, job: Job, after: int, lines: int = TAIL_LINES) -> LogPart | None:
    """The lines stored after byte `after` (the end of a chunk the page already shows), secrets
    replaced by ***: the job page's live poll reads only the chunks from there on, and none when
    nothing is new. None when more than `lines` lines came since: show the tail afresh."""
    if after >= job.log_bytes:
        return LogPart(text="", start=after, end=after, lines=0, lines_before=0)
    chunks = list(job.log_chunks.filter(start__gte=after).order_by("start", "seq")
                  .values_list("start", "text")[:TAIL_CHUNKS + 1])
    text = "".join(text for _, text in chunks)
    count = text.count("\n")
    if len(chunks) > TAIL_CHUNKS or count > lines:
        return None
    if not chunks:
        return LogPart(text="", start=after, end=after, lines=0, lines_before=0)
    end = chunks[-1][0] + len(chunks[-1][1].encode())
    return LogPart(text=job_redactor(job=job)(text), start=chunks[0][0], end=end, lines=count,
                   lines_before=0)


def job_log_stream(*, job: Job) -> Iterator[str]:
    """The whole log, chunk by chunk, secrets replaced by ***."""
    redact = job_redactor(job=job)
    last = 0
    while True:
        batch = list(job.log_chunks.filter(seq__gt=last).order_by("seq").values_list("seq", "text")[:200])
        if not batch:
            return
        for seq, text in batch:
            yield redact(text)
            last = seq


def job_url(*, job: Job) -> str | None:
    """Where a running notebook opens (Trainshed's own link: it checks access, then sends the
    person through the node's agent) or where an endpoint answers; None otherwise."""
    node = job.node
    return job_url_of(pk=job.pk, job_type=job.type, status=job.status, address=job.address,
                      on_node=node is not None, agent_url=node.agent_url if node is not None else "")


def job_url_of(*, pk, job_type: str, status: str, address: str, on_node: bool, agent_url: str) -> str | None:
    """`job_url` from a job's values (a list's row), for a job on a node (`on_node`) with that
    agent URL."""
    if status != JobStatus.RUNNING or not on_node:
        return None
    if job_type == JobType.NOTEBOOK and agent_url:
        return reverse("resources:job-open", args=[pk])
    if job_type == JobType.ENDPOINT and address:
        return f"http://{address}/"
    return None
