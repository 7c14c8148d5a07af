"""What "only owned compute" does not move: a project's datasets and models already on public
storage and its jobs on public nodes, listed on the compute settings page after the setting is
turned on, with the owner's choice to stop those jobs or keep everything as it is.

Nothing moves by itself: files stay where they are (new ones go to the owner's nodes) and a job
keeps its node until it ends, unless the owner stops it here or has the datasets and models moved
to their node ("Move": a background task copies each one's files, points it at the node, and only
then deletes the public copy)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from compute.models import ComputeNode
from compute.services import storage_node_for
from core.forms import error_text
from projects import access
from projects.audit import audit_record
from projects.models import Project
from resources import storage
from resources.jobs.services import job_stop
from resources.models import (
    JOB_ACTIVE,
    KINDS,
    Dataset,
    Job,
    MLModel,
    PublicMove,
    PublicMoveStatus,
    StoredStatus,
)
from resources.tasks import failure_reason

logger = logging.getLogger(__name__)

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


# ---- Move: datasets and models from public storage to the owner's node ------------------------


def public_move_latest(*, project: Project) -> PublicMove | None:
    return PublicMove.objects.filter(project=project).first()


def public_move_refusal(*, project: Project) -> str:
    """Why "Move" cannot be chosen now ("" when it can): the owner has no online node with
    storage."""
    try:
        storage_node_for(project=project)
    except ValidationError as exc:
        return error_text(exc)
    return ""


@transaction.atomic
def public_files_move_start(*, project: Project, actor) -> PublicMove:
    """The owner's "Move": queue the copy of every dataset and model on public storage to the
    owner's online node with storage (ValidationError when there is none, or one is running)."""
    access.require(actor, project, "project", "administer")
    Project.objects.select_for_update().filter(pk=project.pk).first()  # one start at a time
    if PublicMove.objects.filter(project=project, status=PublicMoveStatus.MOVING).exists():
        raise ValidationError("A move is already running: wait for it to finish.")
    node = storage_node_for(project=project)
    move = PublicMove.objects.create(project=project, node=node, node_name=node.name, actor=actor)
    left = public_leftovers(project=project)
    audit_record(project=project, actor=actor, action="compute.public_move_started", target=node.name,
                 after={"datasets": left.dataset_count, "models": left.model_count, "node": node.name})
    transaction.on_commit(lambda: move_public_files.enqueue(str(move.pk)))
    return move


def _resource_move(resource, node: ComputeNode) -> None:
    """Copy the resource's files to `node`, point the row at it, then delete the old copy. Any
    failure before the row points at the node deletes the partial copy and keeps the original."""
    resource_cls, file_cls, fk = KINDS[resource.kind]
    if resource.status != StoredStatus.READY:
        raise ValidationError("It is not ready (still downloading, or failed): wait or delete it.")
    source, prefix = resource.file_storage, resource.storage_prefix
    target = storage.storage_for(node)
    files = file_cls.objects.filter(**{fk: resource}).values_list("path", "size_bytes")
    # Not `exact`: the sizes are counted as copied and must match the rows (write_tree checks).
    entries = [storage.Entry(path=path, size=size, open=lambda path=path: source.open(prefix + path, "rb"))
               for path, size in files]
    storage.write_tree(prefix, entries, target)
    try:
        with transaction.atomic():
            pointed = resource_cls.objects.filter(
                pk=resource.pk, storage_node_id=resource.storage_node_id, status=StoredStatus.READY,
            ).update(storage_node=node, location="node", updated_at=timezone.now())
            if not pointed:
                raise ValidationError("It changed or was deleted while it was being copied.")
    except BaseException:
        storage.delete_tree(prefix, target)
        raise
    # Only now: the row points at the complete copy on the node.
    storage.delete_tree(prefix, source)


def public_files_move(*, move_id) -> str:
    """Run by the worker: move each dataset and model of the project still on public storage, one
    at a time (each its own transaction), and record which were moved and which failed, why."""
    move = PublicMove.objects.select_related("project", "node", "actor").filter(
        pk=move_id, status=PublicMoveStatus.MOVING).first()
    if move is None:
        return "skipped"
    project, node = move.project, move.node
    moved, failures = 0, []
    for kind, model in (("datasets", Dataset), ("models", MLModel)):
        for resource in _on_public_storage(model, project).select_related("storage_node").only(
                "id", "name", "project_id", "status", "storage_node"):
            try:
                if node is None:
                    raise ValidationError(f"The node {move.node_name} was removed.")
                _resource_move(resource, node)
                moved += 1
            except Exception as exc:  # each failure is named on the page; the original stays
                logger.info("move of %s %s to %s failed: %s", kind, resource.pk, move.node_name, exc)
                failures.append({"kind": kind, "name": resource.name, "reason": failure_reason(exc)[:500]})
    with transaction.atomic():
        PublicMove.objects.filter(pk=move.pk).update(status=PublicMoveStatus.DONE, moved=moved,
                                                     failures=failures, finished_at=timezone.now())
        audit_record(project=project, actor=move.actor, action="compute.public_moved", target=move.node_name,
                     after={"moved": moved, "failed": [f"{f['kind'][:-1]} {f['name']}" for f in failures]})
    return "failed" if failures else "done"


# Beside the work it runs (not in resources.tasks, which this module imports for failure_reason).
@task(queue_name="downloads")  # file copies, as long as downloads: never beside accrual
def move_public_files(move_id: str) -> str:
    """The owner's "Move" of an owned-only project's public datasets and models to their node."""
    return public_files_move(move_id=move_id)
