"""Demo compute: this machine as a public node and as alice's "workstation", an offline a100
node of alice's, and alice's "Vision Research" on owned compute only. Idempotent."""

from django.conf import settings

from accounts.models import User
from compute import local, services
from compute.models import ComputeNode, GpuType, ProjectCompute
from projects.models import Project
from projects.services import project_settings_update

PUBLIC_NODE = "local"
ALICE_LOCAL = "workstation"
ALICE_OFFLINE = "a100-rack"


def _storage(name: str) -> tuple[str, int]:
    path = settings.VAR_DIR / "nodes" / name
    path.mkdir(parents=True, exist_ok=True)
    return str(path), max(1, local.disk_capacity_gb(str(path)))


def _ensure_local(*, owner, name: str, stdout) -> ComputeNode:
    node = ComputeNode.objects.filter(name=name, owner=owner).first()
    if node is None:
        gpu_type, count = local.local_gpu_type()
        path, capacity = _storage(name if owner is None else f"{owner.pk}-{name}")
        node, _ = services.node_register(
            owner=owner, name=name, gpu_type=gpu_type, gpu_count=count, hostname=local.hostname(),
            storage_path=path, storage_capacity_gb=capacity,
        )
        stdout.write(f"  node {name}: {count} × {gpu_type.slug} on {node.hostname}")
    else:
        services.node_heartbeat(node=node)
    return node


def load(stdout) -> None:
    _ensure_local(owner=None, name=PUBLIC_NODE, stdout=stdout)
    alice = User.objects.filter(email="alice@example.com").first()
    if alice is None:
        return
    _ensure_local(owner=alice, name=ALICE_LOCAL, stdout=stdout)
    if not ComputeNode.objects.filter(owner=alice, name=ALICE_OFFLINE).exists():
        services.node_create(
            owner=alice, actor=None, name=ALICE_OFFLINE, provider=ComputeNode.Provider.PHYSICAL,
            region="lab-1", hostname="a100-rack-1.lab.example", gpu_type=GpuType.objects.get(slug="a100"),
            gpu_count=8, storage_path="/data", storage_capacity_gb=4000,
        )
        stdout.write(f"  node {ALICE_OFFLINE}: 8 × a100, offline")

    vision = Project.objects.filter(owner=alice, name="Vision Research", is_personal=False).first()
    if vision is None:
        return
    changed = not vision.owned_compute_only
    if changed:
        project_settings_update(project=vision, actor=None, owned_compute_only=True)
    if changed or not ProjectCompute.objects.filter(project=vision, refreshed_at__isnull=False).exists():
        stored = services.project_gpu_types_refresh(project=vision, actor=None)
        names = ", ".join(t.slug for t in stored.gpu_types.all()) or "none"
        stdout.write(f"  Vision Research: owned compute only; GPU types {names}")
