"""What a status badge shows, per status (lists attach it to each row; the detail pages' tags use it)."""

from resources.models import IN_PROGRESS, JobStatus, StoredStatus

_JOB_CSS = {
    JobStatus.FINISHED: "ok", JobStatus.RUNNING: "ok", JobStatus.FAILED: "bad",
    JobStatus.STOPPED: "", JobStatus.NEW: "",
}
_JOB_WAITING = (JobStatus.WAITING, JobStatus.STARTING)
_RESOURCE_CSS = {StoredStatus.READY: "ok", StoredStatus.FAILED: "bad"}
_JOB_LABELS = dict(JobStatus.choices)
_STORED_LABELS = dict(StoredStatus.choices)


def job_badge(status: str) -> dict:
    """What a job's status badge shows (lists attach it to each row: no tag per row)."""
    return {"css": _JOB_CSS.get(status, "warn"), "status": status, "label": _JOB_LABELS.get(status, status),
            "busy": status in _JOB_WAITING}


def resource_badge(status: str) -> dict:
    """What a dataset's or model's status badge shows."""
    return {"css": _RESOURCE_CSS.get(status, "warn"), "status": status,
            "label": _STORED_LABELS.get(status, status), "busy": status in IN_PROGRESS}
