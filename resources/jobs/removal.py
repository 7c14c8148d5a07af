"""A member's jobs when they leave or are removed (issue #19): their waiting and placed jobs are
cancelled at once (else they would start later and be charged to the owner); running ones are
stopped when the remover asks (the API's default), otherwise listed to the owner, who stops each
with one click. Notebook access needs no step here: the agent asks `access` on every request."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from projects import access
from projects.models import Membership, Project
from resources.jobs.services import job_stop
from resources.models import Job, JobRun, JobStatus

# Placed (not yet claimed by an agent) or waiting for a node: cancelled at once.
QUEUED = (JobStatus.WAITING, JobStatus.STARTING)


def _starter_ids(jobs) -> dict:
    """{job pk: id of the person who started it}: the open run's `started_by`, else the creator."""
    started = dict(JobRun.objects.filter(job__in=[j.pk for j in jobs], ended_at__isnull=True)
                   .exclude(started_by__isnull=True).values_list("job_id", "started_by_id"))
    return {job.pk: started.get(job.pk, job.created_by_id) for job in jobs}


def _theirs(project: Project, user, statuses) -> list[Job]:
    jobs = list(Job.objects.in_project(project).filter(status__in=statuses, removed_at__isnull=True)
                .select_related("project"))
    starters = _starter_ids(jobs)
    # Started by them, or created by them and started by nobody known.
    return [j for j in jobs if starters[j.pk] == user.pk or j.created_by_id == user.pk]


@transaction.atomic
def jobs_end_for_former_member(*, project: Project, user, actor, stop_running: bool) -> int:
    """Cancel `user`'s queued jobs in `project` (and stop their running ones if `stop_running`);
    returns how many. Runs as the system: the remover may not manage jobs, the rule says it."""

    reason = f"Stopped: {user.email} was removed from the project."
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        reason = f"Stopped: {user.email} left the project."
    statuses = (*QUEUED, JobStatus.RUNNING) if stop_running else QUEUED
    ended = 0
    for job in _theirs(project, user, statuses):
        job_stop(job=job, actor=None, reason=reason)
        ended += 1
    if not stop_running and _theirs(project, user, (JobStatus.RUNNING,)):
        Project.objects.filter(pk=project.pk).update(former_member_jobs_since=timezone.now())
    return ended


def former_members_running_jobs(*, project: Project) -> list[Job]:
    """Running jobs of `project` started by someone who is no longer its owner or a member (and
    not yet asked to stop), for the owner to stop. No query unless someone left with jobs running."""
    if project.former_member_jobs_since is None:
        return []
    jobs = list(Job.objects.in_project(project).filter(
        status=JobStatus.RUNNING, removed_at__isnull=True, stop_requested_at__isnull=True)
        .select_related("created_by").order_by("started_at"))
    if not jobs:
        return []
    starters = _starter_ids(jobs)
    present = set(Membership.objects.filter(project=project).values_list("user_id", flat=True))
    present.add(project.owner_id)
    gone = {j.pk for j in jobs if starters[j.pk] is not None and starters[j.pk] not in present}

    emails = dict(User.objects.filter(pk__in={starters[pk] for pk in gone}).values_list("pk", "email"))
    out = []
    for job in jobs:
        if job.pk in gone:
            job.former_member_email = emails.get(starters[job.pk], "")
            out.append(job)
    return out


def former_member_job_stop(*, project_id, pk, actor) -> Job:
    """The owner's one-click stop of such a job; 404 for anyone else or any other job."""
    project = access.project_for(actor, project_id, "project", "administer")
    job = get_object_or_404(Job.objects.in_project(project).filter(removed_at__isnull=True), pk=pk)
    job = job_stop(job=job, actor=actor, reason=f"Stopped by {actor.email}: its member left the project.")
    if not former_members_running_jobs(project=project):
        Project.objects.filter(pk=project.pk).update(former_member_jobs_since=None)
    return job
