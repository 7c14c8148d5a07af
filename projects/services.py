"""Writes to projects, memberships and their permissions. Views, commands and the API call these."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm

from projects import access
from projects.models import RESOURCE_TYPES, Access, AuditEvent, Membership, Project

PERSONAL_NAME = "Personal"
OWNER_PERMS = (
    "view_project",
    "administer_project",
    *(f"{verb}_{rt}" for rt in RESOURCE_TYPES for verb in ("view", "manage")),
)


def _authorize(actor, project: Project) -> None:
    """Only the owner administers. `actor=None` is an operator (admin site, management command)."""
    if actor is not None:
        access.require(actor, project, "project", "administer")


def _refuse_personal(project: Project, what: str) -> None:
    if project.is_personal:
        raise ValidationError(f"The Personal project cannot be {what}.", code="personal")


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


def _member_perms(membership: Membership) -> list[str]:
    codenames = ["view_project"]
    for rt in RESOURCE_TYPES:
        level = getattr(membership, rt)
        if level in (Access.READ, Access.ALL):
            codenames.append(f"view_{rt}")
        if level == Access.ALL:
            codenames.append(f"manage_{rt}")
    return codenames


def _set_perms(*, project: Project, user, codenames: list[str] | tuple[str, ...]) -> None:
    """Make `user`'s object permissions on `project` exactly `codenames`."""
    from projects.models import ProjectUserObjectPermission

    ProjectUserObjectPermission.objects.filter(content_object=project, user=user).exclude(
        permission__codename__in=codenames
    ).delete()
    held = set(
        ProjectUserObjectPermission.objects.filter(content_object=project, user=user).values_list(
            "permission__codename", flat=True
        )
    )
    for codename in codenames:
        if codename not in held:
            assign_perm(codename, user, project)
    access.forget(user)


@transaction.atomic
def personal_project_create(*, owner) -> Project:
    project = Project(name=PERSONAL_NAME, owner=owner, is_personal=True)
    project.full_clean()
    project.save()
    _set_perms(project=project, user=owner, codenames=OWNER_PERMS)
    return project


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the project."})
    if len(name) > 100:
        raise ValidationError({"name": "A project name has at most 100 characters."})
    if name.lower() == PERSONAL_NAME.lower():
        raise ValidationError({"name": "“Personal” is reserved for your own Personal project."})
    return name


@transaction.atomic
def project_create(*, owner, name: str) -> Project:
    project = Project(name=_clean_name(name), owner=owner)
    project.full_clean()
    project.save()
    _set_perms(project=project, user=owner, codenames=OWNER_PERMS)
    audit_record(project=project, actor=owner, action="project.created", after={"name": name})
    return project


@transaction.atomic
def project_rename(*, project: Project, name: str, actor) -> Project:
    _refuse_personal(project, "renamed")
    _authorize(actor, project)
    old = project.name
    project.name = _clean_name(name)
    project.full_clean()
    project.save(update_fields=["name", "updated_at"])
    audit_record(
        project=project, actor=actor, action="project.renamed",
        before={"name": old}, after={"name": project.name},
    )
    return project


@transaction.atomic
def membership_set(
    *, project: Project, user, jobs: str, datasets: str, models: str, actor
) -> Membership:
    """Add `user` to `project` or change their access; permissions follow in the same transaction."""
    _refuse_personal(project, "shared")
    _authorize(actor, project)
    if user.pk == project.owner_id:
        raise ValidationError({"email": "The owner already has full access to the project."})
    levels = {"jobs": jobs, "datasets": datasets, "models": models}
    for field, level in levels.items():
        if level not in Access.values:
            raise ValidationError({field: f"Choose one of: {', '.join(Access.values)}."})
    membership = (
        Membership.objects.select_for_update().filter(project=project, user=user).first()
    )
    before = membership.access() if membership else None
    if membership is None:
        membership = Membership(project=project, user=user, **levels)
    else:
        for field, level in levels.items():
            setattr(membership, field, level)
    membership.full_clean()
    membership.save()
    _set_perms(project=project, user=user, codenames=_member_perms(membership))
    if before is None:
        audit_record(project=project, actor=actor, action="member.added",
                     target=user.email, after=levels)
    elif before != levels:
        audit_record(project=project, actor=actor, action="member.updated",
                     target=user.email, before=before, after=levels)
    return membership


def _membership_delete(*, project: Project, user) -> dict[str, str]:
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise ValidationError({"email": f"{user.email} is not a member of this project."})
    before = membership.access()
    membership.delete()
    _set_perms(project=project, user=user, codenames=[])
    return before


@transaction.atomic
def membership_remove(*, project: Project, user, actor) -> None:
    _refuse_personal(project, "shared")
    _authorize(actor, project)
    before = _membership_delete(project=project, user=user)
    audit_record(project=project, actor=actor, action="member.removed",
                 target=user.email, before=before)


@transaction.atomic
def project_leave(*, project: Project, user) -> None:
    _refuse_personal(project, "left")
    if user.pk == project.owner_id:
        raise ValidationError(
            "The owner cannot leave the project: transfer ownership or delete it instead."
        )
    before = _membership_delete(project=project, user=user)
    audit_record(project=project, actor=user, action="member.left",
                 target=user.email, before=before)


@transaction.atomic
def project_settings_update(*, project: Project, actor, owned_compute_only: bool) -> Project:
    _refuse_personal(project, "configured")
    _authorize(actor, project)
    before = project.owned_compute_only
    project.owned_compute_only = bool(owned_compute_only)
    project.save(update_fields=["owned_compute_only", "updated_at"])
    if before != project.owned_compute_only:
        audit_record(project=project, actor=actor, action="settings.updated",
                     before={"owned_compute_only": before},
                     after={"owned_compute_only": project.owned_compute_only})
    return project


@transaction.atomic
def project_delete(*, project: Project, actor) -> None:
    _refuse_personal(project, "removed")
    _authorize(actor, project)
    from projects.signals import project_deleting

    for _receiver, refusal in project_deleting.send(sender=Project, project=project):
        if refusal:
            raise ValidationError(refusal)
    audit_record(project=project, actor=actor, action="project.deleted",
                 before={"name": project.name})
    project.delete()
