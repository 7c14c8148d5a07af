"""Demo compute: this machine as a public node and as alice's "workstation", an offline a100
node of alice's, and alice's "Vision Research" on owned compute only. Idempotent."""

from accounts.models import User
from compute import local, services
from compute.models import ComputeNode, GpuType, ProjectCompute
from projects.models import Project
from projects.services import project_settings_update

PUBLIC_NODE = local.PUBLIC_NODE
ALICE_LOCAL = "workstation"
ALICE_OFFLINE = "a100-rack"


_RELAYS: dict = {}


def local_relay(node: ComputeNode) -> str:
    """The file relay of `node`'s agent, served from this process over the folder the agent that
    `manage.py serve` starts keeps its files in, for as long as the demo loads (the real agent
    reports its own address at its first heartbeat)."""
    from pathlib import Path

    from django.conf import settings
    from trainshed.agent.relay import RelayServer

    if node.pk not in _RELAYS:
        secret = services.node_relay_secret(node=node)
        root = Path(settings.VAR_DIR) / "agents" / str(node.pk) / "files"
        root.mkdir(parents=True, exist_ok=True)
        relay = RelayServer(host="127.0.0.1", port=0, storage_root=root, secret=lambda: secret,
                            access_check=lambda *_: False, target_for=lambda _: None)
        relay.start()
        _RELAYS[node.pk] = relay
    return _RELAYS[node.pk].url


def stop_relays() -> None:
    while _RELAYS:
        _RELAYS.popitem()[1].stop()


def load(stdout) -> None:
    local.node_here(owner=None, name=PUBLIC_NODE, stdout=stdout)
    alice = User.objects.filter(email="alice@example.com").first()
    if alice is None:
        return
    workstation = local.node_here(owner=alice, name=ALICE_LOCAL, stdout=stdout)
    # Online now, as its agent (started next by `manage.py serve`) says within seconds: the
    # owned-compute-only project's first list of GPU types is made from it below, and its demo
    # datasets are stored on it through the agent's file relay (`local_relay`).
    services.node_heartbeat(node=workstation, agent_url=local_relay(workstation))
    if not ComputeNode.objects.filter(owner=alice, name=ALICE_OFFLINE).exists():
        services.node_create(
            owner=alice, actor=None, name=ALICE_OFFLINE, provider=ComputeNode.Provider.PHYSICAL,
            region="lab-1", gpu_type=GpuType.objects.get(slug="a100"), gpu_count=8,
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
