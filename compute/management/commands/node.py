"""`manage.py node register|heartbeat|run-local|list`: what a compute node's worker runs."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from accounts.models import User
from compute import local, services
from compute.models import ComputeNode


def _owner(email: str | None):
    if not email:
        return None
    try:
        return User.objects.get(email__iexact=email.strip())
    except User.DoesNotExist:
        raise CommandError(f"--owner: no account with the e-mail {email}.") from None


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Register a compute node, send its heartbeat, or keep this machine's nodes alive."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        reg = sub.add_parser("register", help="create or update a node and send a first heartbeat")
        who = reg.add_mutually_exclusive_group(required=True)
        who.add_argument("--owner", help="e-mail of the account that owns the node")
        who.add_argument("--public", action="store_true", help="a platform node (no owner)")
        reg.add_argument("--name", required=True)
        reg.add_argument("--gpu-type", help="catalogue slug (cpu, t4, a100, …); default: detected")
        reg.add_argument("--gpus", type=int, help="GPU count (job slots for cpu); default: detected")
        reg.add_argument("--storage", default="", help="storage path on the node (empty: none)")
        reg.add_argument("--capacity-gb", type=int, help="storage capacity; default: the disk's size")
        reg.add_argument("--hostname", default=None, help="default: this machine's host name")
        reg.add_argument("--provider", default=ComputeNode.Provider.PHYSICAL,
                         choices=ComputeNode.Provider.values)
        reg.add_argument("--region", default="")

        beat = sub.add_parser("heartbeat", help="send one heartbeat for a node")
        beat.add_argument("name")
        which = beat.add_mutually_exclusive_group()
        which.add_argument("--owner", help="the owner's e-mail, when several nodes share the name")
        which.add_argument("--public", action="store_true")

        run = sub.add_parser("run-local", help="heartbeat this machine's nodes until stopped")
        run.add_argument("--interval", type=float,
                         default=max(5, settings.TRAINSHED_NODE_HEARTBEAT_SECONDS // 3))
        run.add_argument("--hostname", default=None, help="default: this machine's host name")
        run.add_argument("--once", action="store_true", help="one round, then exit")

        sub.add_parser("list", help="every node with its state")

    def handle(self, *args, action, **options):
        return getattr(self, "handle_" + action.replace("-", "_"))(**options)

    # -- register ---------------------------------------------------------------------------
    def handle_register(self, *, owner, public, name, gpu_type, gpus, storage, capacity_gb,
                        hostname, provider, region, **_):
        owner_user = None if public else _owner(owner)
        if gpu_type is None or gpus is None:
            detected_type, detected_count = local.local_gpu_type()
            gpu_type = gpu_type or detected_type.slug
            gpus = gpus if gpus is not None else detected_count
        if capacity_gb is None:
            capacity_gb = local.disk_capacity_gb(storage) if storage else 0
        try:
            node, created = services.node_register(
                owner=owner_user, name=name, gpu_type=gpu_type, gpu_count=gpus,
                hostname=hostname or local.hostname(), storage_path=storage,
                storage_capacity_gb=capacity_gb, provider=provider, region=region,
            )
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from None
        whose = "public" if node.is_public else f"owned by {owner_user.email}"
        self.stdout.write(
            f"{'registered' if created else 'updated'} node {node.name} ({whose}): "
            f"{node.gpu_count} × {node.gpu_type.slug}, storage "
            f"{node.storage_capacity_gb} GB at {node.storage_path or '-'}; {node.state}"
        )

    # -- heartbeat ----------------------------------------------------------------------------
    def handle_heartbeat(self, *, name, owner, public, **_):
        nodes = ComputeNode.objects.filter(name=name)
        if public:
            nodes = nodes.public()
        elif owner:
            nodes = nodes.filter(owner=_owner(owner))
        found = list(nodes.select_related("owner")[:2])
        if not found:
            raise CommandError(f"No node named {name}.")
        if len(found) > 1:
            raise CommandError(f"Several nodes are named {name}: add --owner EMAIL or --public.")
        node = services.node_heartbeat(node=found[0])
        self.stdout.write(f"{node.name}: {node.state} at {node.last_heartbeat:%Y-%m-%d %H:%M:%S}")

    # -- run-local ------------------------------------------------------------------------------
    def handle_run_local(self, *, interval, hostname, once, **_):
        host = hostname or local.hostname()
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            self.stdout.write(f"keeping the nodes on {host} alive every {interval:g}s")
        seen: set = set()
        try:
            while not stopping:
                for node in ComputeNode.objects.filter(hostname=host):
                    services.node_heartbeat(node=node)
                    if node.pk not in seen:
                        seen.add(node.pk)
                        self.stdout.write(f"  heartbeat: {node.name}")
                if once:
                    break
                close_old_connections()  # a long-lived loop: drop a connection that went bad
                deadline = time.monotonic() + interval
                while not stopping and time.monotonic() < deadline:
                    time.sleep(0.5)
        finally:
            if not once:
                for node in ComputeNode.objects.filter(pk__in=seen):
                    services.node_mark_offline(node=node)
                self.stdout.write("local nodes marked offline.")

    # -- list -----------------------------------------------------------------------------------
    def handle_list(self, **_):
        for node in ComputeNode.objects.select_related("owner", "gpu_type").with_usage():
            whose = node.owner.email if node.owner else "public"
            self.stdout.write(
                f"{node.name:20} {whose:24} {node.gpus_reserved}/{node.gpu_count} × "
                f"{node.gpu_type.slug:6} {node.state:9} {node.hostname}"
            )
