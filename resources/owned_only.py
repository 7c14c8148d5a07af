"""What "only owned compute" does not move: a project's datasets and models already on public
storage and its jobs on public nodes, listed on the compute settings page after the setting is
turned on, with the owner's choice to stop those jobs or keep everything as it is.

Nothing is moved: files stay where they are (new ones go to the owner's nodes) and a job keeps its
node until it ends, unless the owner stops it here."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from projects import access
from projects.audit import audit_record
from projects.models import Project
from resources.jobs.services import job_stop
from resources.models import JOB_ACTIVE, Dataset, Job, MLModel

LIMIT = 50  # the page lists this many of each; the counts are exact


@dataclass
class Leftovers:
    datasets: list
    models: list
    jobs: list
    dataset_count: int
    model_count: int
    job_count: int

    @property
    def any(self) -> bool:
        return bool(self.dataset_count or self.model_count or self.job_count)


def _on_public_storage(model, project: Project):
    # storage_node empty: the platform's storage; a node of someone else's is public too.
    return (model.objects.in_project(project)
            .filter(Q(storage_node__isnull=True) | ~Q(storage_node__owner_id=project.owner_id))
            .order_by("name").only("id", "name", "size_bytes", "project_id"))


def _jobs_on_public_nodes(project: Project):
    """Active jobs placed on (or waiting for) a node that is not the owner's."""
    return (Job.objects.in_project(project).filter(status__in=JOB_ACTIVE)
            .filter(Q(node__isnull=True) | ~Q(node__owner_id=project.owner_id))
            .select_related("node", "gpu_type").order_by("created_at"))


def public_leftovers(*, project: Project) -> Leftovers:
    """The project's datasets and models on public storage and its active jobs on public nodes
    (waiting ones too: they may still land on one). Empty unless the project is owned-only."""
    if not project.owned_compute_only:
        return Leftovers([], [], [], 0, 0, 0)
    datasets, models = _on_public_storage(Dataset, project), _on_public_storage(MLModel, project)
    jobs = _jobs_on_public_nodes(project)
    return Leftovers(list(datasets[:LIMIT]), list(models[:LIMIT]), list(jobs[:LIMIT]),
                     datasets.count(), models.count(), jobs.count())


@transaction.atomic
def public_jobs_stop(*, project: Project, actor) -> int:
    """Stop every active job of the project on a public node (owner only); returns how many."""
    access.require(actor, project, "project", "administer")
    jobs = list(_jobs_on_public_nodes(project))
    for job in jobs:
        job_stop(job=job, actor=actor, reason="Stopped: the project now uses only its owner's compute")
    audit_record(project=project, actor=actor, action="compute.public_jobs_stopped",
                 after={"jobs": len(jobs)})
    return len(jobs)


def public_leftovers_keep(*, project: Project, actor) -> Leftovers:
    """The owner chose to keep them as they are: recorded in the audit log, nothing changes."""
    access.require(actor, project, "project", "administer")
    left = public_leftovers(project=project)
    audit_record(project=project, actor=actor, action="compute.public_kept",
                 after={"datasets": left.dataset_count, "models": left.model_count, "jobs": left.job_count})
    return left
