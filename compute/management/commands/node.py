"""`manage.py node register|token|list`: the operators' side of compute nodes. A node's own
process is its agent (`trainshed-agent`), which needs only the server's URL and the node's token."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from compute import local, services
from compute.models import ComputeNode
from core.forms import error_text


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
    return error_text(exc)


class Command(BaseCommand):
    help = "Register a compute node (issuing its agent's token), rotate or revoke a token, list nodes."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        reg = sub.add_parser("register", help="create or update a node and issue its agent's token")
        who = reg.add_mutually_exclusive_group(required=True)
        who.add_argument("--owner", help="e-mail of the account that owns the node")
        who.add_argument("--public", action="store_true", help="a platform node (no owner)")
        reg.add_argument("--name", required=True)
        reg.add_argument("--gpu-type", help="catalogue slug (cpu, t4, a100, …); default: detected")
        reg.add_argument("--gpus", type=int, help="GPU count (job slots for cpu); default: detected")
        reg.add_argument("--provider", default=ComputeNode.Provider.PHYSICAL,
                         choices=ComputeNode.Provider.values)
        reg.add_argument("--region", default="")

        tok = sub.add_parser("token", help="issue a new token for a node (the old one stops working)")
        tok.add_argument("name")
        which = tok.add_mutually_exclusive_group()
        which.add_argument("--owner", help="the owner's e-mail, when several nodes share the name")
        which.add_argument("--public", action="store_true")
        tok.add_argument("--revoke", action="store_true", help="revoke it instead: the agent stops")

        sub.add_parser("list", help="every node with its state")

    def handle(self, *args, action, **options):
        return getattr(self, "handle_" + action.replace("-", "_"))(**options)

    def handle_register(self, *, owner, public, name, gpu_type, gpus, provider, region, **_):
        owner_user = None if public else _owner(owner)
        if gpu_type is None or gpus is None:
            detected_type, detected_count = local.local_gpu_type()
            gpu_type = gpu_type or detected_type.slug
            gpus = gpus if gpus is not None else detected_count
        try:
            node, created, token = services.node_register(
                owner=owner_user, name=name, gpu_type=gpu_type, gpu_count=gpus, provider=provider,
                region=region,
            )
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from None
        whose = "public" if node.is_public else f"owned by {owner_user.email}"
        self.stdout.write(
            f"{'registered' if created else 'updated'} node {node.name} ({whose}): "
            f"{node.gpu_count} × {node.gpu_type.slug}, id {node.pk}"
        )
        self._show_token(token)

    def _show_token(self, token: str) -> None:
        self.stdout.write("Its agent's token (shown once; keep it on the node only):")
        self.stdout.write(f"  {token}")
        self.stdout.write("On the node: TRAINSHED_AGENT_URL=<this server> TRAINSHED_AGENT_TOKEN=<token> "
                          "trainshed-agent")

    def handle_token(self, *, name, owner, public, revoke, **_):
        nodes = ComputeNode.objects.filter(name=name)
        if public:
            nodes = nodes.public()
        elif owner:
            nodes = nodes.filter(owner=_owner(owner))
        found = list(nodes[:2])
        if not found:
            raise CommandError(f"No node named {name}.")
        if len(found) > 1:
            raise CommandError(f"Several nodes are named {name}: add --owner EMAIL or --public.")
        if revoke:
            services.node_token_revoke(node=found[0], actor=None)
            self.stdout.write(f"{name}: token revoked; its agent is refused from its next request.")
            return
        self._show_token(services.node_token_issue(node=found[0], actor=None))

    def handle_list(self, **_):
        for node in ComputeNode.objects.select_related("owner", "gpu_type").with_usage():
            whose = node.owner.email if node.owner else "public"
            sandbox = {True: "sandboxed", False: "no sandbox", None: "-"}[node.sandbox_ok]
            self.stdout.write(
                f"{node.name:20} {whose:24} {node.gpus_reserved}/{node.gpu_count} × "
                f"{node.gpu_type.slug:6} {node.state:9} {sandbox:10} {node.hostname or '-'}"
            )
