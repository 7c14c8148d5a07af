from django import template

from resources.models import IN_PROGRESS, JobStatus, StoredStatus

register = template.Library()

_JOB_CSS = {
    JobStatus.FINISHED: "ok", JobStatus.RUNNING: "ok", JobStatus.FAILED: "bad",
    JobStatus.STOPPED: "", JobStatus.NEW: "",
}
_JOB_WAITING = (JobStatus.WAITING, JobStatus.STARTING)
_RESOURCE_CSS = {StoredStatus.READY: "ok", StoredStatus.FAILED: "bad"}
_JOB_LABELS = dict(JobStatus.choices)
_STORED_LABELS = dict(StoredStatus.choices)


@register.inclusion_tag("resources/_status_badge.html")
def job_status_badge(job_or_status) -> dict:
    """A job's status as a badge (a job, or its status as a string)."""
    status = getattr(job_or_status, "status", job_or_status)
    return {"css": _JOB_CSS.get(status, "warn"), "status": status, "label": _JOB_LABELS.get(status, status),
            "busy": status in _JOB_WAITING}


@register.inclusion_tag("resources/_status_badge.html")
def resource_status_badge(resource_or_status) -> dict:
    """A dataset's or model's status as a badge (the object, or its status as a string)."""
    status = getattr(resource_or_status, "status", resource_or_status)
    return {"css": _RESOURCE_CSS.get(status, "warn"), "status": status,
            "label": _STORED_LABELS.get(status, status), "busy": status in IN_PROGRESS}
