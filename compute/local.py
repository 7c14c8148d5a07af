"""What this machine has: its host name, its GPUs (via nvidia-smi) and its disk."""

from __future__ import annotations

import shutil
import socket
import subprocess

from django.db import transaction
from django.utils.text import slugify

from compute import services
from compute.models import ComputeNode, GpuType

#: The public node `manage.py serve` keeps on this machine, so a fresh install runs jobs.
PUBLIC_NODE = "local"

# Substrings of nvidia-smi's model names, most specific first, mapped to catalogue slugs.
KNOWN_MODELS = [("H100", "h100"), ("A100", "a100"), ("A6000", "a6000"), ("A4000", "a4000"),
                ("T4", "t4")]


def hostname() -> str:
    return socket.gethostname()


def detect_gpus() -> tuple[str, int, int]:
    """(model name, count, memory GB) from nvidia-smi; ("", 0, 0) when there is no NVIDIA GPU."""
    if shutil.which("nvidia-smi") is None:
        return "", 0, 0
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=15, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "", 0, 0
    rows = [line.split(",") for line in out.splitlines() if line.strip()]
    if not rows:
        return "", 0, 0
    name = rows[0][0].strip()
    try:
        memory_gb = round(int(rows[0][1].strip()) / 1024)
    except (IndexError, ValueError):
        memory_gb = 0
    return name, len(rows), memory_gb


@transaction.atomic
def local_gpu_type() -> tuple[GpuType, int]:
    """This machine's GPU type and count: ("cpu", job slots) without a GPU. An unknown model is
    added to the catalogue at the A4000's price for the operator to correct in the admin."""
    name, count, memory_gb = detect_gpus()
    if not count:
        return GpuType.objects.get(slug="cpu"), 2
    for needle, slug in KNOWN_MODELS:
        if needle.lower() in name.lower():
            found = GpuType.objects.filter(slug=slug).first()
            if found is not None:
                return found, count
    reference = GpuType.objects.filter(slug="a4000").first()
    gpu_type, _ = GpuType.objects.get_or_create(
        slug=slugify(name)[:32] or "gpu",
        defaults={
            "name": name[:64], "memory_gb": memory_gb,
            "credits_per_gpu_hour": reference.credits_per_gpu_hour if reference else 1,
        },
    )
    return gpu_type, count


def disk_capacity_gb(path: str) -> int:
    try:
        return shutil.disk_usage(path).total // 1024**3
    except OSError:
        return 0


def node_here(*, owner=None, name: str = PUBLIC_NODE, stdout=None) -> ComputeNode:
    """A node hosted on this machine (`manage.py serve` starts its agent), registered with the
    GPUs found here when it does not exist yet."""
    node = ComputeNode.objects.filter(name=name, owner=owner).first()
    if node is None:
        gpu_type, count = local_gpu_type()
        node, _, _token = services.node_register(owner=owner, name=name, gpu_type=gpu_type, gpu_count=count)
        if stdout is not None:
            stdout.write(f"  node {name}: {count} × {gpu_type.slug}, its agent started by `manage.py serve`")
    if node.hostname != hostname():
        ComputeNode.objects.filter(pk=node.pk).update(hostname=hostname())  # until its agent reports
    return node
