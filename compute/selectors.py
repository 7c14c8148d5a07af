"""Reads about compute: which GPU types a project may use, where it may run, what an owner has."""

from __future__ import annotations

from django.core.cache import caches
from django.db.models import Max, Prefetch, Q, QuerySet

from compute.models import ComputeNode, GpuType, ProjectCompute, Reservation
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


def available_gpu_types(*, project: Project) -> list[GpuType]:
    """The GPU types job forms and the API offer for `project`.

    A Personal project uses public and its owner's online nodes and is always current (computed on
    every read). Any other project uses the list stored by its last refresh; a project that was
    never refreshed gets its first list now.
    """
    if project.is_personal:
        return list(gpu_types_now(project=project))
    # The stored list in one query; only an empty one asks whether the project was ever refreshed.
    stored = (ProjectCompute.gpu_types.through.objects.filter(projectcompute__project=project)
              .select_related("gputype").order_by("gputype__credits_per_gpu_hour", "gputype__name"))
    types = [row.gputype for row in stored]
    if types or ProjectCompute.objects.filter(project=project).exists():
        return types
    # Never refreshed (made before new projects got a list on creation): what a refresh would
    # store, computed now; storing it is `services.project_gpu_types_refresh`'s, not a read's.
    return list(gpu_types_now(project=project))


def available_gpu_type_names(*, project: Project) -> list[str]:
    """The names of `available_gpu_types` (the project page's badges), by the same rule. Which types
    a shared project stores changes only with its `updated_at` (a refresh, the admin), so their ids
    are cached by it; names and order are read each time (a type may be renamed by any means)."""
    if project.is_personal:
        return list(gpu_types_now(project=project).values_list("name", flat=True))
    key = f"gpu-type-ids:{project.pk}:{project.updated_at.isoformat()}"
    ids = caches["fragments"].get_or_set(key, lambda: _stored_gpu_type_ids(project), 3600)
    if ids is None:  # never refreshed
        return list(gpu_types_now(project=project).values_list("name", flat=True))
    if not ids:
        return []
    # A removed type's id simply matches no row.
    return list(GpuType.objects.filter(pk__in=ids).order_by("credits_per_gpu_hour", "name")
                .values_list("name", flat=True))


def _stored_gpu_type_ids(project: Project) -> list[int] | None:
    """The ids of the types `project` stores, in one query: its compute row joined to its list (an
    empty list gives one None); None when it has no compute row."""
    ids = list(ProjectCompute.objects.filter(project=project).values_list("gpu_types", flat=True))
    return [pk for pk in ids if pk is not None] if ids else None


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
