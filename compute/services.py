"""Writes about compute: nodes, heartbeats, refreshing a project's GPU types, placement, storage.

Public functions other apps call:
- `placement_reserve(*, project, gpu_type, gpu_count, holder)` / `placement_release(*, holder)`
- `storage_node_for(*, project)` before creating a dataset or model
- `project_gpu_types_refresh(*, project, actor)`
"""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from compute.models import BYTES_PER_GB, ComputeNode, GpuType, ProjectCompute, Reservation
from compute.selectors import (
    available_gpu_types,
    gpu_type_get,
    gpu_types_now,
    max_gpus_for,
    nodes_for_project,
)
from compute.signals import capacity_freed
from projects import access
from projects.crypto import decrypt, encrypt
from projects.models import Project
from projects.services import audit_record

NODE_FIELDS = ("name", "provider", "region", "gpu_type", "gpu_count")
#: What an agent reports of its node at each heartbeat (the agent's own configuration).
REPORTED_FIELDS = ("hostname", "storage_path", "storage_capacity_gb", "storage_free_bytes",
                   "agent_url", "sandbox_ok", "sandbox_reason")
TOKEN_PREFIX = "tsn_"
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
    same_name = ComputeNode.objects.filter(name__iexact=node.name).exclude(pk=node.pk)
    same_name = same_name.filter(owner_id=node.owner_id) if node.owner_id else same_name.public()
    if node.name and same_name.exists():
        whose = "You already have" if node.owner_id else "There is already a public"
        raise ValidationError({"name": f"{whose} a node named “{node.name}”."})
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


# ---- node tokens: a node is its id and its token --------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def node_token_issue(*, node: ComputeNode, actor) -> str:
    """A new token for `node` (the old one stops working at once); returned once, stored hashed.
    Owners issue their own nodes' tokens; public nodes' only operators (`actor=None`)."""
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    node.token_hash = _token_hash(raw)
    node.token_prefix = raw[: len(TOKEN_PREFIX) + 6]
    node.token_issued_at = timezone.now()
    # A new relay secret too: whoever held the old token may have learnt the old one.
    node.relay_secret = encrypt(secrets.token_urlsafe(32))
    node.save(update_fields=["token_hash", "token_prefix", "token_issued_at", "relay_secret",
                             "updated_at"])
    return raw


@transaction.atomic
def node_token_revoke(*, node: ComputeNode, actor) -> ComputeNode:
    """The node's agent is refused from its next request on; the node goes offline."""
    _authorize_node(actor, node)
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    node.token_hash = node.token_prefix = node.relay_secret = ""
    node.token_issued_at = None
    if node.status == ComputeNode.Status.ONLINE:
        node.status = ComputeNode.Status.OFFLINE
    node.save(update_fields=["token_hash", "token_prefix", "token_issued_at", "relay_secret",
                             "status", "updated_at"])
    return node


def node_by_token(*, raw: str) -> ComputeNode | None:
    """The node whose current token is `raw` (None for anything else, revoked tokens included)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    return ComputeNode.objects.select_related("owner", "gpu_type").filter(
        token_hash=_token_hash(raw)).first()


def node_relay_secret(*, node: ComputeNode) -> bytes:
    return decrypt(node.relay_secret).encode() if node.relay_secret else b""


@transaction.atomic
def node_heartbeat(*, node: ComputeNode, **reported) -> ComputeNode:
    """The node's agent is alive: a fresh heartbeat and what it measured (free disk, capacity,
    whether it can sandbox, where it serves); an offline node comes online (draining stays)."""
    unknown = set(reported) - set(REPORTED_FIELDS)
    if unknown:
        raise TypeError(f"unknown reported fields: {sorted(unknown)}")
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    was_online = node.state == ComputeNode.Status.ONLINE
    node.last_heartbeat = timezone.now()
    for field, value in reported.items():
        setattr(node, field, value)
    if node.status == ComputeNode.Status.OFFLINE:
        node.status = ComputeNode.Status.ONLINE
    node.full_clean()
    node.save(update_fields=["last_heartbeat", "status", "updated_at", *reported])
    if not was_online and node.state == ComputeNode.Status.ONLINE:
        _announce_capacity(node)
    return node


@transaction.atomic
def node_mark_offline(*, node: ComputeNode) -> ComputeNode:
    """The agent is stopping: offline now rather than when the heartbeat goes stale."""
    node = ComputeNode.objects.select_for_update().get(pk=node.pk)
    if node.status == ComputeNode.Status.ONLINE:
        node.status = ComputeNode.Status.OFFLINE
        node.save(update_fields=["status", "updated_at"])
    return node


@transaction.atomic
def node_register(
    *, owner, name: str, gpu_type, gpu_count: int, provider: str = ComputeNode.Provider.PHYSICAL,
    region: str = "",
) -> tuple[ComputeNode, bool, str]:
    """`manage.py node register` and the API: create the node (or bring one of the same owner and
    name up to date) and issue a new token. Returns (node, created, token); the token is shown
    once. The node is offline until its agent's first heartbeat."""
    found = gpu_type_get(slug_or_type=gpu_type)
    if found is None:
        choices = ", ".join(GpuType.objects.values_list("slug", flat=True))
        raise ValidationError({"gpu_type": f"Unknown GPU type “{gpu_type}”. Known: {choices}."})
    fields = {"provider": provider, "region": region, "gpu_type": found, "gpu_count": gpu_count}
    existing = ComputeNode.objects.filter(name=name)
    existing = existing.filter(owner=owner) if owner is not None else existing.public()
    node = existing.first()
    created = node is None
    if created:
        node = node_create(owner=owner, actor=None, name=name, **fields)
    else:
        node = node_update(node=node, actor=None, **fields)
    return node, created, node_token_issue(node=node, actor=None)


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
    view if the list is ever cached by the project's `updated_at`. Returns how many."""
    return Project.objects.filter(compute__gpu_types=gpu_type).update(updated_at=timezone.now())


# ---- a GPU request ----------------------------------------------------------------------------


def gpu_request_clean(*, project, gpu_type, gpu_count) -> tuple[GpuType, int]:
    """Check a GPU request against what `project` may use; field errors name `gpu_type` or
    `gpu_count`. For the API (`forms.GpuRequestForm` does the same through its fields)."""
    allowed = {t.slug: t for t in available_gpu_types(project=project)}
    slug = gpu_type.slug if isinstance(gpu_type, GpuType) else str(gpu_type or "").strip().lower()
    if slug not in allowed:
        raise ValidationError({"gpu_type": gpu_type_not_available(slug, allowed)})
    try:
        count = int(gpu_count)
    except (TypeError, ValueError):
        raise ValidationError({"gpu_count": "Enter a whole number of GPUs."}) from None
    gpu_count_check(project, allowed[slug], count)
    return allowed[slug], count


def gpu_type_not_available(slug: str, allowed: dict) -> str:
    names = ", ".join(allowed) or "none (ask the owner to refresh the project's GPU types)"
    return f"“{slug}” is not a GPU type this project may use. Available: {names}."


def gpu_count_check(project, gpu_type: GpuType, count: int) -> None:
    if count < 1:
        raise ValidationError({"gpu_count": "Ask for at least one GPU."})
    most = max_gpus_for(project=project, gpu_type=gpu_type)
    if count > most:
        raise ValidationError(
            {"gpu_count": f"No {gpu_type.name} node this project may use has {count} GPUs; "
                          f"the largest has {most}."}
        )


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
            # A node that cannot sandbox runs only its owner's jobs.
            .filter(Q(sandbox_ok=True) | Q(owner_id=project.owner_id))
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
        # The fields' own checks only: the node was just read (locked) and the project is the
        # caller's, so full_clean's two foreign-key reads and its query for the gpus >= 1 constraint
        # (checked above, and by the database) would only read again what is known.
        reservation.clean_fields(exclude={"node", "project"})
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
