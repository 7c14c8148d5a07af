"""The project's audit log: one function appends to it (services of every app call it)."""

from __future__ import annotations

from typing import Any

from projects.models import AuditEvent, Project


def audit_record(
    *,
    project: Project,
    actor,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit entry. Callers pass only what may be shown to the owner: never a secret."""
    return AuditEvent.objects.create(
        project=project,
        project_name=project.name,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target=target,
        before=before or {},
        after=after or {},
    )
