"""The node-scoped part of the API (/api/v1/node/…): what a compute node's agent calls.

An agent authenticates with its node token (`Authorization: Bearer tsn_…`, compute.api.NodeTokenAuth)
and sees only its own node and the jobs placed on it: another node's job is a 404. It heartbeats,
claims the jobs placed on its node, receives one run's spec (with the keys and secrets of that
job's project only), streams the log, reports the outcome and moves inputs and outputs.
"""

from __future__ import annotations

import uuid
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest
from django.utils.text import slugify
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from accounts.models import User
from compute import services as compute_services
from compute.api import NodeTokenAuth
from compute.models import ComputeNode
from core.api import ERRORS
from projects import access
from projects.keys import job_environment_and_files, redactor
from resources import storage
from resources.jobs import services, wake
from resources.models import Job, JobOutput, JobStatus, JobType

router = Router(tags=["node agents"], auth=NodeTokenAuth())

#: Inside its sandbox a job's workspace is always here.
WORKSPACE = "/workspace"


def _node(request: HttpRequest) -> ComputeNode:
    return request.auth


def _job(request: HttpRequest, job_id: uuid.UUID, *statuses: str) -> Job:
    """A job placed on the requesting node (in one of `statuses`, when given), else 404."""
    jobs = Job.objects.select_related("project", "gpu_type", "node").filter(pk=job_id, node=_node(request))
    if statuses:
        jobs = jobs.filter(status__in=statuses)
    job = jobs.first()
    if job is None:
        raise Http404
    return job


# ---- heartbeat --------------------------------------------------------------------------------


class HeartbeatIn(Schema):
    hostname: str = ""
    storage_path: str = ""
    storage_capacity_gb: int = 0
    storage_free_bytes: int | None = None
    agent_url: str = ""
    sandbox_ok: bool = False
    sandbox_reason: str = ""


class HeartbeatOut(Schema):
    node_id: uuid.UUID
    name: str
    status: str
    heartbeat_seconds: int
    relay_secret: str
    keep_workspaces: list[str]
    unheard_claims: list[str] = []


@router.post("/heartbeat", response={200: HeartbeatOut, **ERRORS}, url_name="node-heartbeat")
def heartbeat(request: HttpRequest, payload: HeartbeatIn):
    """The agent is alive: what it measured of its node. Answers the node's state, the secret
    that signs the control plane's requests to the agent, the jobs whose workspaces it keeps, and
    the jobs it claimed but has not reported since (it runs those it does not know of)."""
    reported = payload.dict()
    reported["hostname"] = reported["hostname"][:253]
    reported["storage_path"] = reported["storage_path"][:500]
    reported["agent_url"] = reported["agent_url"][:300]
    reported["storage_capacity_gb"] = max(0, reported["storage_capacity_gb"])
    node = compute_services.node_heartbeat(node=_node(request), **reported)
    return {
        "node_id": node.pk, "name": node.name, "status": node.state,
        "heartbeat_seconds": max(5, settings.TRAINSHED_NODE_HEARTBEAT_SECONDS // 3),
        "relay_secret": compute_services.node_relay_secret(node=node).decode(),
        "keep_workspaces": services.node_workspaces_kept(node=node),
        "unheard_claims": services.node_jobs_claim_unheard(node=node),
    }


@router.post("/offline", response={204: None, **ERRORS}, url_name="node-offline")
def offline(request: HttpRequest):
    """The agent is stopping: the node is offline now rather than when its heartbeat goes stale."""
    compute_services.node_mark_offline(node=_node(request))
    return Status(204, None)


# ---- claiming a job: its spec -------------------------------------------------------------------


class InputFileOut(Schema):
    path: str
    size: int


class InputOut(Schema):
    kind: Literal["dataset", "model"]
    id: uuid.UUID
    name: str
    mount: str  # relative to the workspace's input/ folder
    files: list[InputFileOut]


class JobSpecOut(Schema):
    job_id: uuid.UUID
    name: str
    type: str
    project_id: uuid.UUID
    owner_job: bool  # the project's owner owns this node (the only jobs a node that cannot sandbox runs)
    command: str
    env: dict[str, str]
    files: dict[str, str]
    gpu_indices: list[int]
    disk_gb: int
    port: int | None
    output_model: bool
    inputs: list[InputOut]
    log_seq: int
    heartbeat_seconds: int


def _inputs(job: Job) -> list[dict]:
    out, used = [], set()
    for dataset in job.input_datasets.order_by("name").prefetch_related("files"):
        name = slugify(dataset.name) or str(dataset.pk)
        if name in used:
            name = f"{name}-{str(dataset.pk)[:8]}"
        used.add(name)
        out.append({"kind": "dataset", "id": dataset.pk, "name": dataset.name, "mount": f"datasets/{name}",
                    "files": [{"path": f.path, "size": f.size_bytes} for f in dataset.files.all()]})
    if job.input_model_id:
        model = job.input_model
        out.append({"kind": "model", "id": model.pk, "name": model.name, "mount": "model",
                    "files": [{"path": f.path, "size": f.size_bytes} for f in model.files.all()]})
    return out


def job_spec(job: Job) -> dict:
    """What one run of `job` needs on its node: the keys and secrets of its project only."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKSPACE, "LANG": "C.UTF-8",
           "PYTHONUNBUFFERED": "1"}
    env.update(job.env or {})
    secret_env, files = job_environment_and_files(project=job.project, workspace=WORKSPACE)
    env.update(secret_env)
    env.update({
        "CUDA_VISIBLE_DEVICES": "" if job.gpu_type.slug == "cpu" else job.gpu_indices,
        "TRAINSHED_JOB_ID": str(job.pk),
        "TRAINSHED_JOB_NAME": job.name,
        "TRAINSHED_PROJECT_ID": str(job.project_id),
        "TRAINSHED_WORKSPACE": WORKSPACE,
        "TRAINSHED_INPUT_DIR": f"{WORKSPACE}/input",
        "TRAINSHED_OUTPUT_DIR": f"{WORKSPACE}/output",
    })
    if job.port:
        env["PORT"] = str(job.port)
    gpus = [] if job.gpu_type.slug == "cpu" else [
        int(i) for i in job.gpu_indices.split(",") if i.strip().isdigit()]
    return {
        "job_id": job.pk, "name": job.name, "type": job.type, "project_id": job.project_id,
        "owner_job": job.node.owner_id is not None and job.node.owner_id == job.project.owner_id,
        "command": job.command, "env": env, "files": files, "gpu_indices": gpus,
        "disk_gb": job.disk_gb, "port": job.port,
        "output_model": job.output_type == JobOutput.MODEL,
        "inputs": _inputs(job),
        "log_seq": (job.last_log_seq if hasattr(job, "last_log_seq")  # read with the claim
                    else job.log_chunks.order_by("-seq").values_list("seq", flat=True).first()) or 0,
        "heartbeat_seconds": settings.TRAINSHED_JOB_HEARTBEAT_SECONDS,
    }


@router.post("/claim", response={200: JobSpecOut, 204: None, **ERRORS}, url_name="node-claim")
def claim(request: HttpRequest, wait: float = 0):
    """The next job placed on this node, now running: its spec, for this run only. 204: none
    after waiting up to `wait` seconds (at most TRAINSHED_NODE_CLAIM_WAIT_SECONDS) for one."""
    wait = max(0.0, min(wait, settings.TRAINSHED_NODE_CLAIM_WAIT_SECONDS))
    job = wake.claim_waiting(node=_node(request), wait=wait, claim=services.run_claim_next)
    if job is None:
        return Status(204, None)
    return Status(200, job_spec(job))


@router.get("/jobs/{job_id}/spec", response={200: JobSpecOut, **ERRORS}, url_name="node-job-spec")
def spec(request: HttpRequest, job_id: uuid.UUID):
    """A running job's spec again (an agent that restarted and resumes watching its job)."""
    return job_spec(_job(request, job_id, JobStatus.RUNNING))


# ---- while it runs ------------------------------------------------------------------------------


class LogIn(Schema):
    seq: int
    text: str


class LogOut(Schema):
    acked: int


@router.post("/jobs/{job_id}/log", response={200: LogOut, **ERRORS}, url_name="node-job-log")
def log_append(request: HttpRequest, job_id: uuid.UUID, payload: LogIn):
    """Chunk `seq` of the job's output, stored redacted. `acked` is the last chunk stored: the agent
    sends again from there after a blip."""
    job = _job(request, job_id)
    if payload.seq < 1:
        raise ValidationError({"seq": "Chunks are numbered from 1."})
    acked = services.run_log_append(job=job, seq=payload.seq, text=payload.text.replace("\x00", ""),
                                    redact=redactor(project=job.project))
    return {"acked": acked}


class JobBeatIn(Schema):
    address: str | None = None


class JobBeatOut(Schema):
    stop: bool
    status: str
    reason: str


@router.post("/jobs/{job_id}/heartbeat", response={200: JobBeatOut, **ERRORS}, url_name="node-job-heartbeat")
def job_heartbeat(request: HttpRequest, job_id: uuid.UUID, payload: JobBeatIn):
    """The job still runs: whether it must stop (a stop request, or the server gave up on it)."""
    job = _job(request, job_id)
    stop, status = services.run_heartbeat(job=job, address=payload.address)
    reason = Job.objects.filter(pk=job.pk).values_list("status_reason", flat=True).first() or ""
    return {"stop": stop, "status": status, "reason": reason}


class EndIn(Schema):
    status: Literal["finished", "failed", "stopped"]
    exit_code: int | None = None
    reason: str = ""


class EndOut(Schema):
    status: str


@router.post("/jobs/{job_id}/end", response={200: EndOut, **ERRORS}, url_name="node-job-end")
def end(request: HttpRequest, job_id: uuid.UUID, payload: EndIn):
    """Every process of the job has ended: its outcome. Sending it again changes nothing."""
    job = services.run_end(job=_job(request, job_id), status=payload.status,
                           reason=payload.reason.replace("\x00", ""), exit_code=payload.exit_code)
    return {"status": job.status}


# ---- inputs and outputs -------------------------------------------------------------------------


@router.get("/jobs/{job_id}/inputs/{input_id}", response={200: None, **ERRORS},
            url_name="node-job-input")
def input_file(request: HttpRequest, job_id: uuid.UUID, input_id: uuid.UUID, path: str):
    """One file of one of the running job's inputs (a dataset or its model), as stored."""
    job = _job(request, job_id, JobStatus.RUNNING)
    resource = (job.input_datasets.filter(pk=input_id).first()
                or (job.input_model if job.input_model_id == input_id else None))
    if resource is None or not resource.files.filter(path=path).exists():
        raise Http404
    handle = storage.open_file(resource.storage_prefix, path, resource.file_storage)
    return FileResponse(handle, content_type="application/octet-stream")


class OutputOut(Schema):
    model_id: uuid.UUID
    name: str
    file_count: int


@router.post("/jobs/{job_id}/output", response={200: OutputOut, **ERRORS}, url_name="node-job-output")
def output(request: HttpRequest, job_id: uuid.UUID, archive: File[UploadedFile]):
    """The job's output/ folder (a tar archive) becomes a model of its project."""
    job = _job(request, job_id, JobStatus.RUNNING)
    if job.output_type != JobOutput.MODEL or job.type in (JobType.NOTEBOOK, JobType.ENDPOINT):
        raise ValidationError({"archive": "This job does not save its output as a model."})
    entries = storage.entries_from_archive(archive, "output.tar")
    model = services.run_save_output_model(job=job, entries=entries)
    return {"model_id": model.pk, "name": model.name, "file_count": model.file_count}


# ---- notebooks: the agent asks on every request -------------------------------------------------


class NotebookAccessIn(Schema):
    job_id: uuid.UUID
    user_id: int


class NotebookAccessOut(Schema):
    allowed: bool


@router.post("/notebook-access", response={200: NotebookAccessOut, **ERRORS}, url_name="node-notebook-access")
def notebook_access(request: HttpRequest, payload: NotebookAccessIn):
    """May this person open this running notebook now (jobs "read" on its project)?"""

    job = Job.objects.select_related("project").filter(
        pk=payload.job_id, node=_node(request), status=JobStatus.RUNNING, type=JobType.NOTEBOOK,
        removed_at__isnull=True).first()
    user = User.objects.filter(pk=payload.user_id, is_active=True).first()
    allowed = job is not None and user is not None and access.can(user, job.project, "jobs", "read")
    return {"allowed": allowed}

