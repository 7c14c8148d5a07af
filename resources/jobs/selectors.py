"""Reads of jobs. Every query starts from the project (`Job.objects.in_project`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from config.paging import Page, page_of
from config.statements import Statement
from projects.keys import redactor
from projects.models import Project
from resources.models import Job, JobStatus, JobType, job_gpu_seconds

TAIL_LINES = 200
TAIL_CHUNKS = 40


def _jobs(*, project: Project, status: str | None):
    """`project` (a Project or its id)'s jobs, newest first; of one status unless `status` is None."""
    qs = Job.objects.in_project(project)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "pk")


def _status(status: str | None) -> str | None:
    return status if status in JobStatus.values else None


def jobs_list(*, project: Project, status: str | None = None):
    """The project's jobs, newest first, with their GPU type, node and creator loaded."""
    return _jobs(project=project, status=_status(status)).select_related("gpu_type", "node", "created_by")


LIST_FIELDS = ("pk", "name", "type", "status", "gpu_count", "created_at", "started_at", "ended_gpu_seconds",
               "gpu_type__name", "node__name", "created_by__email")
_LIST = Statement(lambda project, status: _jobs(project=project, status=status).values(*LIST_FIELDS))


def jobs_page(*, project: Project, status: str | None = None, number=1, size: int) -> Page:
    """One page of the jobs list as plain rows (the fields it shows, plus `gpu_seconds`): one
    query whatever the number of jobs (a job keeps its ended runs' GPU time), built once per
    process (`config.statements`), and no model objects built for a table of text."""
    page = page_of(_LIST.bind(project=project.pk, status=_status(status)), number, size=size)
    now = timezone.now()
    for row in page:
        row["gpu_seconds"] = job_gpu_seconds(
            ended_gpu_seconds=row["ended_gpu_seconds"], status=row["status"], started_at=row["started_at"],
            gpu_count=row["gpu_count"], now=now)
    return page


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
    fields = ("id", "project", "status", "log_bytes")
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
    if job.status != JobStatus.RUNNING or job.node is None:
        return None
    if job.type == JobType.NOTEBOOK and job.node.agent_url:
        return reverse("resources:job-open", args=[job.pk])
    if job.type == JobType.ENDPOINT and job.address:
        return f"http://{job.address}/"
    return None
    host = settings.TRAINSHED_JOB_URL_HOST
    if not host:
        import socket

        host = "127.0.0.1" if job.node.hostname == socket.gethostname() else job.node.hostname
    base = f"http://{host}:{job.port}/"
    if job.type == JobType.NOTEBOOK:
        return f"{base}lab?token={job.token}"
    if job.type == JobType.ENDPOINT:
        return base
    return None
