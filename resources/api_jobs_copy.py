"""`POST /jobs/{id}/copy`: a new job with another job's spec, changed by what the body gives, and
started at once with `"start": true`. Its own module beside `api_jobs.py` (mounted by
`resources/api.py`); it looks the job up and answers like the other job operations."""

import uuid

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from core.api import ERRORS, Text
from resources.api_jobs import JobDetailOut, JobType_, Output_, _lookup
from resources.jobs import selectors, services

router = Router(tags=["jobs"])


class JobCopyIn(Schema):
    """What to change in the copy; a field left out keeps the job's value (`null` clears
    `input_model` and `port`)."""

    start: bool = Field(False, description="Start the copy at once (refused, and nothing created, "
                                           "when it cannot start).")
    name: Text | None = None
    type: JobType_ | None = None
    gpu_type: Text | None = None
    gpu_count: int | None = None
    disk_gb: int | None = None
    command: Text | None = None
    env: dict[Text, Text] | None = None
    input_datasets: list[uuid.UUID] | None = None
    input_model: uuid.UUID | None = None
    output_type: Output_ | None = None
    port: int | None = None


NULLABLE = ("input_model", "port")


@router.post("/jobs/{job_id}/copy", response={201: JobDetailOut, **ERRORS}, operation_id="jobs_copy",
             url_name="jobs-copy", summary="Copy a job to a new one (and start it)")
def job_copy(request: HttpRequest, job_id: uuid.UUID, payload: JobCopyIn | None = None):
    """Needs jobs "all" in the job's project. Everything is checked as for a new job; field
    errors name the field (e.g. an input dataset deleted since: `input_datasets`)."""
    job = _lookup(request, job_id, "manage")
    payload = payload or JobCopyIn()
    overrides = {k: v for k, v in payload.dict(exclude_unset=True).items()
                 if k != "start" and (v is not None or k in NULLABLE)}
    copy = services.job_copy(job=job, actor=request.user, start=payload.start, **overrides)
    return Status(201, selectors.job_get(project=job.project, pk=copy.pk))
