"""Writes about compute: nodes, heartbeats, refreshing a project's GPU types, placement, storage.

Public functions other apps call:
- `placement_reserve(*, project, gpu_type, gpu_count, holder)` / `placement_release(*, holder)`
- `storage_node_for(*, project)` before creating a dataset or model
- `project_gpu_types_refresh(*, project, actor)`
"""

from __future__ import annotations

import shutil

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from compute.models import BYTES_PER_GB, ComputeNode, GpuType, ProjectCompute, Reservation
from compute.selectors import gpu_type_get, gpu_types_now, nodes_for_project
from compute.signals import capacity_freed
from projects import access
from projects.models import Project
from projects.services import audit_record

NODE_FIELDS = (
    "name", "provider", "region", "hostname", "gpu_type", "gpu_count", "storage_path",
    "storage_capacity_gb",
)
NO_OWNED_STORAGE = (
    "This project uses only its owner's compute resources, and the owner has no online node with "
    "storage. Bring such a node online (Compute page), or turn off “Use Only Owned Compute "
    "Resources” in the project's compute settings."
)


# ---- nodes ------------------------------------------------------------------------------------


def _authorize_node(actor, node: ComputeNode) -> None:
    """Owners change their own nodes; public nodes only operators (`actor=None`)."""
    if actor is not None and (node.owner_id is None or node.owner_id != actor.pk):
        raise PermissionDenied


def _announce_capacity(node: ComputeNode) -> None:
    transaction.on_commit(lambda: capacity_freed.send(sender=ComputeNode, node=node))


def _save_node(node: ComputeNode) -> ComputeNode:
    node.name = (node.name or "").strip()
    node.hostname = (node.hostname or "").strip()
    node.storage_path = (node.storage_path or "").strip()
    same_name = ComputeNode.objects.filter(name__iexact=node.name).exclude(pk=node.pk)
    same_name = same_name.filter(owner_id=node.owner_id) if node.owner_id else same_name.public()
    if node.name and same_name.exists():
        whose = "You already have" if node.owner_id else "There is already a public"
        raise ValidationError({"name": f"{whose} a node named “{node.name}”."})
    if node.storage_capacity_gb and not node.storage_path:
        raise ValidationError(
            {"storage_path": "Give the storage path on the node, or set the capacity to 0."}
        )
    node.full_clean()
    node.save()
    return node


@transaction.atomic
def node_create(*, owner, actor, **fields) -> ComputeNode:
    """A new node of `owner` (None: a public node, operators only). It is offline until its
    worker sends a heartbeat."""
    if actor is not None and (owner is None or owner.pk != actor.pk):
        raise PermissionDenied
    unknown = set(fields) - set(NODE_FIELDS)
    if unknown:
        raise TypeError(f"unknown node fields: {sorted(unknown)}")
    node = ComputeNode(owner=owner, status=ComputeNode.Status.OFFLINE, **fields)
    return _save_node(node)


@transaction.atomic
def node_update(*, node: ComputeNode, actor, **fields) -> ComputeNode:
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    original_type = node.gpu_type_id
    for field, value in fields.items():
        if field not in NODE_FIELDS:
            raise TypeError(f"unknown node field: {field}")
        setattr(node, field, value)
    in_use = node.reservations.aggregate(n=Sum("gpus"))["n"] or 0
    if node.gpu_count is not None and node.gpu_count < in_use:
        raise ValidationError(
            {"gpu_count": f"{in_use} GPUs are in use on this node: set at least {in_use}."}
        )
    if in_use and node.gpu_type_id != original_type:
        raise ValidationError(
            {"gpu_type": "GPUs of this node are in use: drain it and wait before changing its type."}
        )
    _save_node(node)
    if in_use < node.gpu_count:
        _announce_capacity(node)
    return node


@transaction.atomic
def node_drain(*, node: ComputeNode, actor) -> ComputeNode:
    """No new reservations on this node; what runs there keeps running."""
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    node.status = ComputeNode.Status.DRAINING
    node.save(update_fields=["status", "updated_at"])
    return node


@transaction.atomic
def node_resume(*, node: ComputeNode, actor) -> ComputeNode:
    """Back from draining: online again (really online while its heartbeat is fresh)."""
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    if node.status == ComputeNode.Status.DRAINING:
        node.status = ComputeNode.Status.ONLINE
        node.save(update_fields=["status", "updated_at"])
        _announce_capacity(node)
    return node


@transaction.atomic
def node_remove(*, node: ComputeNode, actor) -> None:
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    in_use = node.reservations.aggregate(n=Sum("gpus"))["n"] or 0
    if in_use:
        raise ValidationError(
            f"{in_use} GPUs of “{node.name}” are in use. Drain the node and remove it once its "
            "work has finished."
        )
    node.delete()


def storage_free_bytes(path: str) -> int | None:
    """Free space on the file system of `path` on this machine (None: no such path here)."""
    if not path:
        return None
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


@transaction.atomic
def node_heartbeat(*, node: ComputeNode) -> ComputeNode:
    """The node's worker (on the node's machine) is alive: fresh heartbeat and the free space of
    its storage; an offline node comes online (draining stays)."""
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    was_online = node.state == ComputeNode.Status.ONLINE
    node.last_heartbeat = timezone.now()
    node.storage_free_bytes = storage_free_bytes(node.storage_path)
    if node.status == ComputeNode.Status.OFFLINE:
        node.status = ComputeNode.Status.ONLINE
    node.save(update_fields=["last_heartbeat", "storage_free_bytes", "status", "updated_at"])
    if not was_online and node.state == ComputeNode.Status.ONLINE:
        _announce_capacity(node)
    return node


@transaction.atomic
def node_mark_offline(*, node: ComputeNode) -> ComputeNode:
    """The worker is stopping: offline now rather than when the heartbeat goes stale."""
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    if node.status == ComputeNode.Status.ONLINE:
        node.status = ComputeNode.Status.OFFLINE
        node.save(update_fields=["status", "updated_at"])
    return node


@transaction.atomic
def node_register(
    *, owner, name: str, gpu_type, gpu_count: int, hostname: str, storage_path: str = "",
    storage_capacity_gb: int = 0, provider: str = ComputeNode.Provider.PHYSICAL, region: str = "",
    heartbeat: bool = True,
) -> tuple[ComputeNode, bool]:
    """What a worker does at start (`manage.py node register`): create the node, or bring an existing
    one (same owner and name) up to date, then send a first heartbeat. Returns (node, created)."""
    found = gpu_type_get(slug_or_type=gpu_type)
    if found is None:
        choices = ", ".join(GpuType.objects.values_list("slug", flat=True))
        raise ValidationError({"gpu_type": f"Unknown GPU type “{gpu_type}”. Known: {choices}."})
    fields = {
        "provider": provider, "region": region, "hostname": hostname, "gpu_type": found,
        "gpu_count": gpu_count, "storage_path": storage_path,
        "storage_capacity_gb": storage_capacity_gb,
    }
    existing = ComputeNode.objects.filter(name=name)
    existing = existing.filter(owner=owner) if owner is not None else existing.public()
    node = existing.first()
    created = node is None
    if created:
        node = node_create(owner=owner, actor=None, name=name, **fields)
    else:
        node = node_update(node=node, actor=None, **fields)
    if heartbeat:
        node = node_heartbeat(node=node)
    return node, created


# ---- a project's GPU types --------------------------------------------------------------------


@transaction.atomic
def project_gpu_types_refresh(*, project: Project, actor) -> ProjectCompute:
    """Recompute and store the GPU types `project` may use: with "use only owned compute" the types
    of the owner's online nodes, otherwise the public online nodes' types plus the owner's.
    Owner only (`actor=None`: an operator or the system)."""
    if actor is not None:
        access.require(actor, project, "project", "administer")
    types = list(gpu_types_now(project=project))
    stored, _ = ProjectCompute.objects.select_for_update().get_or_create(project=project)
    before = sorted(stored.gpu_types.values_list("slug", flat=True)) if stored.refreshed_at else None
    stored.gpu_types.set(types)
    stored.owned_only_at_refresh = project.owned_compute_only
    stored.refreshed_at = timezone.now()
    stored.refreshed_by = actor if getattr(actor, "pk", None) else None
    stored.full_clean()
    stored.save()
    project.save(update_fields=["updated_at"])  # pages keep the list by the project's updated_at
    audit_record(
        project=project, actor=actor, action="compute.gpu_types_refreshed",
        before={"gpu_types": before} if before is not None else {},
        after={"gpu_types": sorted(t.slug for t in types),
               "owned_compute_only": project.owned_compute_only},
    )
    return stored


def gpu_type_changed(*, gpu_type: GpuType) -> int:
    """A GPU type was renamed, repriced (the lists' order) or is about to be removed: the projects
    whose stored list holds it are marked changed, so their pages read the list again on the next
    view (`selectors.available_gpu_type_names`). Returns how many."""
    return Project.objects.filter(compute__gpu_types=gpu_type).update(updated_at=timezone.now())


# ---- placement --------------------------------------------------------------------------------


def placement_reserve(
    *, project: Project, gpu_type, gpu_count: int, holder: str, label: str = "", disk_gb: int = 0
) -> Reservation | None:
    """Reserve `gpu_count` GPUs of `gpu_type` on one node for `holder` (e.g. "job:<uuid>").

    Nodes considered: online (fresh heartbeat, not draining) with enough free GPUs and, for a
    node with storage, `disk_gb` of its capacity not held by other reservations and (when
    measured) free on its disk; only the
    owner's when the project is owned-compute-only, else the cheapest fitting public node first
    (tightest fit among equals), then the owner's own. Returns None when nothing fits now: the
    caller waits and tries again (listen to `compute.signals.capacity_freed`). Calling again with
    the same holder returns its existing reservation. Candidate nodes are row-locked
    (`select_for_update`) so concurrent placements never oversubscribe a node.
    """
    found = gpu_type_get(slug_or_type=gpu_type)
    if found is None:
        raise ValidationError({"gpu_type": f"Unknown GPU type “{gpu_type}”."})
    if not isinstance(gpu_count, int) or gpu_count < 1:
        raise ValidationError({"gpu_count": "Ask for at least one GPU."})
    holder = (holder or "").strip()
    if not holder:
        raise ValidationError({"holder": "A reservation needs a holder, e.g. “job:<id>”."})
    with transaction.atomic():
        existing = Reservation.objects.select_related("node").filter(holder=holder).first()
        if existing is not None:
            return existing
        nodes = list(
            nodes_for_project(project=project)
            .online()
            .filter(gpu_type=found, gpu_count__gte=gpu_count)
            .filter(Q(storage_free_bytes__isnull=True) | Q(storage_free_bytes__gte=disk_gb * BYTES_PER_GB))
            .select_for_update()
            .order_by("pk")
        )
        if not nodes:
            return None
        reserved = {
            node: (gpus, disk) for node, gpus, disk in
            Reservation.objects.filter(node__in=nodes).values("node")
            .annotate(gpus=Sum("gpus"), disk=Sum("disk_gb")).values_list("node", "gpus", "disk")
        }
        fitting = []
        for node in nodes:
            gpus_held, disk_held = reserved.get(node.pk, (0, 0))
            if node.has_storage and node.storage_capacity_gb - disk_held < disk_gb:
                continue
            if node.gpu_count - gpus_held >= gpu_count:
                fitting.append((node, node.gpu_count - gpus_held))
        if not fitting:
            return None
        fitting.sort(key=lambda nf: (nf[0].owner_id is not None, nf[1], nf[0].name, str(nf[0].pk)))
        reservation = Reservation(
            node=fitting[0][0], gpus=gpu_count, disk_gb=disk_gb, holder=holder, label=label[:200],
            project=project,
        )
        reservation.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                reservation.save()
        except IntegrityError:  # the same holder, placed concurrently
            return Reservation.objects.select_related("node").get(holder=holder)
        return reservation


@transaction.atomic
def placement_release(*, holder: str) -> int:
    """Give back what `holder` reserved; returns the number of GPUs freed (0 if it held none)."""
    reservation = Reservation.objects.select_related("node").filter(holder=holder).first()
    if reservation is None:
        return 0
    gpus = reservation.gpus
    node = reservation.node
    reservation.delete()
    _announce_capacity(node)
    return gpus


# ---- storage ----------------------------------------------------------------------------------


def storage_node_for(*, project: Project) -> ComputeNode | None:
    """Where a new dataset or model of `project` is stored.

    None (platform storage) unless the project uses only owned compute; then the owner's online
    node with storage (the largest), and a ValidationError with a clear message when there is none.
    """
    if not project.owned_compute_only:
        return None
    node = (
        ComputeNode.objects.filter(owner_id=project.owner_id)
        .online()
        .with_storage()
        .order_by("-storage_capacity_gb", "name")
        .first()
    )
    if node is None:
        raise ValidationError(NO_OWNED_STORAGE, code="no_owned_storage")
    return node
