"""What the list pages show per row, computed once in Python as plain strings.

A list renders 25 rows; in Django's template language each lookup, filter, `{% include %}` and
`{% url %}` in a row costs about as much as the whole page's layout, so a 25-row table took most
of a page's time. Rows built here leave the templates plain output. The status badges are written
here once and used by the detail pages too (`{% job_status_badge %}`, `{% resource_status_badge %}`).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from config.html import html_row
from config.links import linker
from resources.models import IN_PROGRESS, JOB_ACTIVE, JobStatus, JobType, StoredStatus, location_label

_JOB_BADGE = {
    JobStatus.FINISHED: "ok", JobStatus.RUNNING: "ok", JobStatus.FAILED: "bad",
    JobStatus.STOPPED: "", JobStatus.NEW: "",
}
_JOB_WAITING = (JobStatus.WAITING, JobStatus.STARTING)
_RESOURCE_BADGE = {StoredStatus.READY: "ok", StoredStatus.FAILED: "bad"}
_JOB_LABELS = dict(JobStatus.choices)
_TYPE_LABELS = dict(JobType.choices)
_STORED_LABELS = dict(StoredStatus.choices)


def _badge(css: str, status: str, label: str, busy: bool) -> SafeString:
    return format_html('<span class="badge{}" data-status="{}">{}{}</span>',
                       f" {css}" if css else "", status, label, "…" if busy else "")


def job_status_badge(job_or_status) -> SafeString:
    """A job's status as a badge (a job, or its status as a string)."""
    status = getattr(job_or_status, "status", job_or_status)
    return _badge(_JOB_BADGE.get(status, "warn"), status, _JOB_LABELS.get(status, status),
                  status in _JOB_WAITING)


def resource_status_badge(resource_or_status) -> SafeString:
    """A dataset's or model's status as a badge (the object, or its status as a string)."""
    status = getattr(resource_or_status, "status", resource_or_status)
    return _badge(_RESOURCE_BADGE.get(status, "warn"), status, _STORED_LABELS.get(status, status),
                  status in IN_PROGRESS)


def _when(moment, tz) -> tuple[str, str, str]:
    """(ISO 8601, "YYYY-MM-DD HH:MM", to the second with the zone) in `tz` (the current time
    zone, read once per list): what `timezone.localtime` and `strftime` give, cut from one
    `isoformat()`."""
    local = moment.astimezone(tz)
    iso = local.isoformat()
    day = iso[:10]
    return iso, f"{day} {iso[11:16]}", f"{day} {iso[11:19]} {local.tzname()}"


_SIZE_UNITS = ((1 << 50, "PB"), (1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB"))


def size_label(size: int) -> str:
    """The text of Django's `filesizeformat` ("1 byte", "117.7 MB", with a no-break space), at a
    tenth of its cost: a list prints one per row."""
    n = abs(size)
    for unit_size, unit in _SIZE_UNITS:
        if n >= unit_size:
            text = f"{round(n / unit_size, 1):.1f}\xa0{unit}"
            break
    else:
        text = f"{n}\xa0byte" if n == 1 else f"{n}\xa0bytes"
    return f"-{text}" if size < 0 else text


def _badges(statuses, badge) -> dict[str, SafeString]:
    return {status: badge(status) for status in statuses}


# A list shows the same few badges over and over: each is written once.
_JOB_BADGES = _badges(JobStatus.values, job_status_badge)
_RESOURCE_BADGES = _badges(StoredStatus.values, resource_status_badge)
_NO_SIZE = mark_safe('<span class="muted">—</span>')

_JOB_ROW = (
    '<tr data-job="{pk}"><td><a href="{url}">{name}</a></td><td>{type}</td><td>{badge}</td>'
    "<td>{gpu_count} × {gpu_type}</td><td>{node}</td><td>{gpu_hours}</td><td>{created_by}</td>"
    '<td><time datetime="{created_iso}">{created}</time></td></tr>'
)
_RESOURCE_ROW = (
    '<tr data-resource="{pk}"><td><a href="{url}">{name}</a></td><td>{badge}</td><td>{size}</td>'
    '<td>{file_count}</td><td>{created_by}</td>'
    '<td><time datetime="{created_iso}" title="{created_title}">{created}</time></td><td>{location}</td></tr>'
)


def job_rows(jobs) -> list[dict]:
    """The jobs list's rows, each as its `<tr>` (as the admin's change list builds its rows: in
    the template language a row's dozen lookups cost more than the rest of the page), from
    `jobs.selectors.jobs_page`'s plain rows."""
    rows = []
    tz, url_of = timezone.get_current_timezone(), linker("resources:job-detail")
    for job in jobs:
        created_iso, created, _ = _when(job["created_at"], tz)
        html = html_row(
            _JOB_ROW, pk=job["pk"], url=url_of(job["pk"]), name=job["name"],
            type=_TYPE_LABELS.get(job["type"], job["type"]),
            badge=_JOB_BADGES.get(job["status"]) or job_status_badge(job["status"]),
            gpu_count=job["gpu_count"], gpu_type=job["gpu_type__name"], node=job["node__name"] or "—",
            gpu_hours=f"{job['gpu_seconds'] / 3600:.3f}", created_by=job["created_by__email"] or "—",
            created_iso=created_iso, created=created,
        )
        rows.append({"pk": job["pk"], "html": html, "active": job["status"] in JOB_ACTIVE})
    return rows


def resource_rows(resources, *, detail_url: str) -> list[dict]:
    """A datasets or models list's rows, each as its `<tr>` (see `job_rows`), from
    `selectors.resources_page`'s plain rows."""
    rows = []
    tz, url_of = timezone.get_current_timezone(), linker(detail_url)
    for resource in resources:
        created_iso, created, created_title = _when(resource["created_at"], tz)
        status = resource["status"]
        size = size_label(resource["size_bytes"]) if status == StoredStatus.READY else _NO_SIZE
        html = html_row(
            _RESOURCE_ROW, pk=resource["pk"], url=url_of(resource["pk"]), name=resource["name"],
            badge=_RESOURCE_BADGES.get(status) or resource_status_badge(status), size=size,
            file_count=resource["file_count"], created_by=resource["created_by__email"] or "—",
            created_iso=created_iso, created_title=created_title, created=created,
            location=location_label(resource["storage_node__name"]),
        )
        rows.append({"pk": resource["pk"], "html": html, "in_progress": status in IN_PROGRESS})
    return rows
