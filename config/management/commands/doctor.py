"""`manage.py doctor`: what is misconfigured or not running, in plain words. Exit 1 if anything is."""

import os
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from accounts.two_factor import users_with_two_factor
from compute.models import ComputeNode
from projects.mfa import members_locked_out

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

    cutoff = timezone.now() - timedelta(minutes=STALE_TASK_MINUTES)
    waiting = DBTaskResult.objects.filter(status="READY", run_after__lt=cutoff).count()
    check(
        waiting == 0,
        "No task waits for a worker.",
        f"{waiting} tasks have waited over {STALE_TASK_MINUTES} minutes: is `manage.py db_worker` running?",
    )

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
    _sign_in_checks(check)
    return results


def _sign_in_checks(check) -> None:
    """Two-factor sign-in and single sign-on."""

    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    names = ", ".join(f"{app['name']} ({app['settings']['server_url']})" for app in apps)
    check(True, f"Single sign-on: {names}." if apps else "Single sign-on: no provider configured.", "")
    check(
        settings.TRAINSHED_PASSWORD_SIGNUP or bool(apps),
        "Sign-up: "
        + ("by password" if settings.TRAINSHED_PASSWORD_SIGNUP else "through single sign-on only")
        + (f", for {', '.join(settings.TRAINSHED_SIGNUP_DOMAINS)} only."
           if settings.TRAINSHED_SIGNUP_DOMAINS else "."),
        "Password sign-up is off (TRAINSHED_PASSWORD_SIGNUP) and no single sign-on provider is "
        "configured (TRAINSHED_OIDC_PROVIDERS): no one can sign up.",
    )
    check(
        settings.DEBUG or not settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN,
        "Security keys only over https." if not settings.DEBUG
        else "Security keys allowed on http://localhost (development).",
        "TRAINSHED_WEBAUTHN_ALLOW_INSECURE_ORIGIN is on in production: security keys accept http origins.",
    )
    staff = list(User.objects.filter(is_staff=True, is_active=True).values_list("pk", "email"))
    protected = users_with_two_factor(pk for pk, _ in staff)
    without = [email for pk, email in staff if pk not in protected]
    check(
        settings.DEBUG or not without,
        f"Two-factor sign-in: {len(protected)} of {len(staff)} staff account(s) use it.",
        f"Staff accounts without two-factor sign-in: {', '.join(without)} (Account settings → "
        "Two-factor sign-in).",
    )

    locked = members_locked_out()
    check(True, "Projects that require two-factor sign-in: "
          + (", ".join(f"{name}: {count} member(s) without it" for name, count in locked)
             or "none locked out")
          + ".", "")


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
