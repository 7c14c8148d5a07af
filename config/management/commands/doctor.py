"""`manage.py doctor`: what is misconfigured or not running, in plain words. Exit 1 if anything is."""

import os
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

STALE_TASK_MINUTES = 2


def checks() -> list[tuple[bool, str]]:
    """(ok, message) for each thing an operator should know about."""
    results: list[tuple[bool, str]] = []

    def check(ok: bool, good: str, bad: str) -> None:
        results.append((ok, good if ok else bad))

    # Database and schema.
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.ensure_connection()
    except Exception as exc:  # the database itself is the problem: nothing else can be checked
        return [(False, f"Database unreachable ({type(exc).__name__}): check DATABASE_URL.")]
    check(True, f"Database reachable ({connection.vendor}).", "")
    plan = MigrationExecutor(connection).migration_plan(
        MigrationExecutor(connection).loader.graph.leaf_nodes()
    )
    check(not plan, "Migrations applied.", f"{len(plan)} migrations pending: run `manage.py migrate`.")
    check(
        "trainshed_cache" in connection.introspection.table_names(),
        "Cache table present (rate limits work).",
        "Cache table missing: run `manage.py migrate` (or `createcachetable`).",
    )

    # Secrets and production settings.
    from_env = bool(os.environ.get("TRAINSHED_FERNET_KEYS"))
    if settings.DEBUG:
        check(
            True,
            "Development mode: Fernet key from var/fernet.key."
            if not from_env
            else "Fernet keys from TRAINSHED_FERNET_KEYS.",
            "",
        )
    else:
        check(
            from_env,
            "Fernet keys from TRAINSHED_FERNET_KEYS.",
            "No Fernet key in production: set TRAINSHED_FERNET_KEYS.",
        )
        check(
            "console" not in settings.EMAIL_BACKEND and "locmem" not in settings.EMAIL_BACKEND,
            "E-mail goes out through a real backend.",
            "E-mail backend is console/locmem in production: invitations and verification mails are lost.",
        )
        check(
            not settings.SECRET_KEY.startswith("django-insecure"),
            "SECRET_KEY set.",
            "SECRET_KEY is the development key.",
        )

    # Workers and nodes.
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(minutes=STALE_TASK_MINUTES)
    waiting = DBTaskResult.objects.filter(status="READY", run_after__lt=cutoff).count()
    check(
        waiting == 0,
        "No task waits for a worker.",
        f"{waiting} tasks have waited over {STALE_TASK_MINUTES} minutes: is `manage.py db_worker` running?",
    )
    from compute.models import ComputeNode

    online = ComputeNode.objects.online().count()
    check(
        online > 0,
        f"{online} compute node(s) online.",
        "No online compute node (no heartbeat in the last minutes): run `trainshed-agent` with the "
        "node's token on a node, or `make run` here.",
    )
    unsandboxed = list(ComputeNode.objects.online().filter(sandbox_ok=False)
                       .values_list("name", "sandbox_reason"))
    check(
        not unsandboxed,
        "Every online node sandboxes its jobs.",
        "; ".join(f"Node {name} cannot sandbox jobs ({why or 'no reason given'}): it runs only its "
                  "owner's jobs" for name, why in unsandboxed) + ".",
    )
    return results


class Command(BaseCommand):
    help = "Print what is misconfigured or not running (Fernet keys, workers, nodes, migrations)."

    def handle(self, *args, **options):
        problems = 0
        for ok, message in checks():
            if ok:
                self.stdout.write(self.style.SUCCESS("  ok  ") + message)
            else:
                problems += 1
                self.stdout.write(self.style.ERROR("  !!  ") + message)
        if problems:
            self.stdout.write(self.style.ERROR(f"{problems} problem(s) found."))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("Everything looks right."))
