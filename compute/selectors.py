"""Reads about compute: which GPU types a project may use, where it may run, what an owner has."""

from __future__ import annotations

import time

from django.db.models import Max, Prefetch, Q, QuerySet

from compute.models import ComputeNode, GpuType, ProjectCompute, Reservation
from config.statements import Statement
from projects.models import Project


def gpu_type_get(*, slug_or_type) -> GpuType | None:
    """A GpuType from a GpuType or its slug (None when there is no such type)."""
    if isinstance(slug_or_type, GpuType):
        return slug_or_type
    return GpuType.objects.filter(slug=str(slug_or_type or "").strip().lower()).first()


def nodes_for_project(*, project: Project) -> QuerySet[ComputeNode]:
    """Every node `project` may ever use, whatever its state: the owner's only when the project is
    owned-compute-only, otherwise the public ones and the owner's."""
    if project.owned_compute_only:
        return ComputeNode.objects.filter(owner_id=project.owner_id)
    return ComputeNode.objects.filter(Q(owner__isnull=True) | Q(owner_id=project.owner_id))


def gpu_types_now(*, project: Project) -> QuerySet[GpuType]:
    """The GPU types of the online nodes `project` may use, computed now (what a refresh stores)."""
    nodes = nodes_for_project(project=project).online()
    return GpuType.objects.filter(pk__in=nodes.values("gpu_type")).order_by(
        "credits_per_gpu_hour", "name"
    )


def project_compute(*, project: Project) -> ProjectCompute | None:
    return (
        ProjectCompute.objects.filter(project=project)
        .select_related("refreshed_by")
        .prefetch_related(Prefetch("gpu_types", queryset=GpuType.objects.order_by(
            "credits_per_gpu_hour", "name")))
        .first()
    )


_STORED_TYPES = Statement(lambda project: (
    ProjectCompute.objects.filter(project=project)
    .order_by("gpu_types__credits_per_gpu_hour", "gpu_types__name")
    .values(*(f"gpu_types__{field.attname}" for field in GpuType._meta.concrete_fields))
))


def available_gpu_types(*, project: Project) -> list[GpuType]:
    """The GPU types job forms and the API offer for `project`.

    A Personal project uses public and its owner's online nodes and is always current (computed on
    every read). Any other project uses the list stored by its last refresh; a project that was
    never refreshed gets its first list now.
    """
    if project.is_personal:
        return list(gpu_types_now(project=project))
    # One query: a row per stored type, one row of NULLs for a refresh that found none, no row
    # for a project never refreshed.
    fields = [f.attname for f in GpuType._meta.concrete_fields]
    rows = list(_STORED_TYPES.bind(project=project.pk))
    if rows:
        return [GpuType.from_db("default", fields, [row[f"gpu_types__{name}"] for name in fields])
                for row in rows if row["gpu_types__id"] is not None]
    # Never refreshed (made before new projects got a list on creation): what a refresh would
    # store, computed now; storing it is `services.project_gpu_types_refresh`'s, not a read's.
    return list(gpu_types_now(project=project))


# The names of each shared project's stored GPU types, as its pages show them, kept per process:
# read on every view of a project page, changed by a refresh. An entry holds for the project's
# `updated_at` as it was read: whatever changes what the badges show marks the project changed
# (a refresh, the admin's edit of the list, a GPU type renamed, repriced or removed in the
# admin: `services.gpu_type_changed`). And for at most `_NAMES_SECONDS`, for a change made
# outside those (a shell, SQL).
_NAMES_SECONDS = 60.0
_NAMES_KEPT = 10_000
_names: dict = {}


def available_gpu_type_names(*, project: Project) -> list[str]:
    """The names of `available_gpu_types(project=project)`, in its order; for a shared project,
    read again only when the project has changed or a minute has passed (see `_names`)."""
    if project.is_personal:  # always current: the online nodes of now
        return [gpu_type.name for gpu_type in available_gpu_types(project=project)]
    now = time.monotonic()
    kept = _names.get(project.pk)
    if kept is not None and kept[0] == project.updated_at and now < kept[1]:
        return kept[2]
    names = [gpu_type.name for gpu_type in available_gpu_types(project=project)]
    if len(_names) >= _NAMES_KEPT:
        _names.clear()  # a bound; atomic, where taking out one entry could race another thread
    _names[project.pk] = (project.updated_at, now + _NAMES_SECONDS, names)
    return names


def max_gpus_for(*, project: Project, gpu_type) -> int:
    """The most GPUs of `gpu_type` one node the project may use has (0: no such node at all).

    A request above this can never be placed, so forms answer it with a field error instead of
    letting the job wait forever.
    """
    gpu_type = gpu_type_get(slug_or_type=gpu_type)
    if gpu_type is None:
        return 0
    found = (
        nodes_for_project(project=project)
        .filter(gpu_type=gpu_type)
        .aggregate(most=Max("gpu_count"))["most"]
    )
    return found or 0


def max_disk_gb_for(*, project: Project, gpu_type, gpu_count: int) -> int | None:
    """The largest disk a job of `gpu_count` × `gpu_type` could ever get on a node the project may
    use: the largest storage capacity among those nodes, or None (no limit) when one of them has
    no storage declared (its jobs' files go to the platform's disk)."""
    capacities = list(
        nodes_for_project(project=project).filter(gpu_type=gpu_type_get(slug_or_type=gpu_type),
                                                  gpu_count__gte=gpu_count)
        .values_list("storage_path", "storage_capacity_gb")
    )
    if not capacities or any(not path or not gb for path, gb in capacities):
        return None
    return max(gb for _, gb in capacities)


def nodes_of_owner(*, owner) -> list[ComputeNode]:
    """The Compute page: `owner`'s nodes with GPUs in use and what holds them (3 queries)."""
    return list(
        ComputeNode.objects.owned_by(owner)
        .with_usage()
        .select_related("gpu_type")
        .prefetch_related(
            Prefetch(
                "reservations",
                queryset=Reservation.objects.select_related("project").order_by("created_at"),
            )
        )
        .order_by("name")
    )


def node_of_owner(*, owner, node_id) -> ComputeNode:
    """One of `owner`'s nodes; anyone else's (or a public one) is ComputeNode.DoesNotExist."""
    return ComputeNode.objects.owned_by(owner).with_usage().select_related("gpu_type").get(pk=node_id)


def public_capacity() -> list[dict]:
    """Per GPU type: how many public nodes are online and their GPUs in total / free."""
    rows: dict[int, dict] = {}
    for node in ComputeNode.objects.public().online().with_usage().select_related("gpu_type"):
        row = rows.setdefault(
            node.gpu_type_id, {"gpu_type": node.gpu_type, "nodes": 0, "gpus": 0, "free": 0}
        )
        row["nodes"] += 1
        row["gpus"] += node.gpu_count
        row["free"] += max(0, node.gpu_count - node.gpus_reserved)
    return sorted(rows.values(), key=lambda r: (r["gpu_type"].credits_per_gpu_hour, r["gpu_type"].name))
