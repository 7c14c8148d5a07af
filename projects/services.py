"""Writes to projects, memberships and their permissions. Views, commands and the API call these."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.notify import absolute_url, mail_send
from accounts.two_factor import has_two_factor
from projects import access, notices
from projects.audit import audit_record
from projects.keys.services import keys_copy_from_personal
from projects.models import (
    RESOURCE_TYPES,
    Access,
    Invitation,
    LastProject,
    Membership,
    Project,
    ProjectUserObjectPermission,
)
from projects.names import clean_display, has_control_characters, skeleton
from projects.signals import member_removed, owned_compute_changed, project_deleting

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


def _member_perms(membership: Membership) -> list[str]:
    codenames = ["view_project"]
    for rt in RESOURCE_TYPES:
        level = getattr(membership, rt)
        if level in (Access.READ, Access.ALL):
            codenames.append(f"view_{rt}")
        if level == Access.ALL:
            codenames.append(f"manage_{rt}")
    return codenames


def _project_permission_ids() -> dict[str, int]:
    """Codename → Permission id for Project's permissions (one query per call; a handful of rows)."""
    content_type = ContentType.objects.get_for_model(Project)  # cached by Django
    return dict(Permission.objects.filter(content_type=content_type).values_list("codename", "id"))


def _set_perms(*, project: Project, user, codenames: list[str] | tuple[str, ...]) -> None:
    """Make `user`'s object permissions on `project` exactly `codenames` (django-guardian's
    direct-FK table, written in bulk)."""
    rows = ProjectUserObjectPermission.objects.filter(content_object=project, user=user)
    rows.exclude(permission__codename__in=codenames).delete()
    held = set(rows.values_list("permission__codename", flat=True))
    missing = [c for c in codenames if c not in held]
    if missing:
        ids = _project_permission_ids()
        ProjectUserObjectPermission.objects.bulk_create(
            [ProjectUserObjectPermission(content_object=project, user=user, permission_id=ids[c])
             for c in missing]
        )
        access.access_changed([user.pk])
    access.forget(user)


@transaction.atomic
def personal_project_create(*, owner) -> Project:
    project = Project(name=PERSONAL_NAME, owner=owner, is_personal=True)
    project.full_clean()
    project.save()
    _set_perms(project=project, user=owner, codenames=OWNER_PERMS)
    return project


def _clean_name(name: str, *, owner=None, exclude=None) -> str:
    """The name to store; refused when empty, too long, with control characters, reserved, or
    (given `owner`) like one of the owner's other projects' names (see projects/names.py)."""

    if has_control_characters(name or ""):
        raise ValidationError({"name": "A project name cannot contain control characters such as line "
                                       "breaks or tabs."})
    name = clean_display(name)
    if not name:
        raise ValidationError({"name": "Enter a name for the project."})
    if len(name) > 100:
        raise ValidationError({"name": "A project name has at most 100 characters."})
    if skeleton(name) == skeleton(PERSONAL_NAME):
        raise ValidationError({"name": "“Personal” is reserved for your own Personal project."})
    if owner is not None:
        others = Project.objects.filter(owner=owner, is_personal=False)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        wanted = skeleton(name)
        taken = next((n for n in others.values_list("name", flat=True) if skeleton(n) == wanted), None)
        if taken is not None:
            raise ValidationError({"name": f"You already have a project named “{taken}”."})
    return name


def _save_named(project: Project, **kwargs) -> None:
    """Save, turning the database's "same name for one owner" refusal (two requests at once, past
    `_clean_name`) into the same field error."""
    try:
        with transaction.atomic():
            project.save(**kwargs)
    except IntegrityError as exc:
        if "project_name_unique_per_owner_ci" not in str(exc):
            raise
        raise ValidationError({"name": f"You already have a project named “{project.name}”."}) from exc


@transaction.atomic
def project_create(*, owner, name: str, copy_personal_keys: bool = False) -> Project:
    project = Project(name=_clean_name(name, owner=owner), owner=owner)
    project.full_clean(validate_constraints=False)  # the name rule: `_clean_name`, then the database
    _save_named(project)
    _set_perms(project=project, user=owner, codenames=OWNER_PERMS)
    audit_record(project=project, actor=owner, action="project.created", after={"name": project.name})
    if copy_personal_keys:
        keys_copy_from_personal(project=project, actor=owner)
    return project


@transaction.atomic
def project_rename(*, project: Project, name: str, actor) -> Project:
    _refuse_personal(project, "renamed")
    _authorize(actor, project)
    old = project.name
    project.name = _clean_name(name, owner=project.owner, exclude=project)
    project.full_clean(validate_constraints=False)
    _save_named(project, update_fields=["name", "updated_at"])
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
    _validate_levels(levels)
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
    if before is not None and before != levels:
        _withdraw_offer(project=project, user=user, actor=actor)
    if before is None:
        event = audit_record(project=project, actor=actor, action="member.added",
                             target=user.email, after=levels)
        notices.member_added(project=project, user=user, event=event, actor=actor)
    elif before != levels:
        event = audit_record(project=project, actor=actor, action="member.updated",
                             target=user.email, before=before, after=levels)
        notices.access_changed(project=project, user=user, event=event, actor=actor)
    return membership


def _membership_delete(*, project: Project, user) -> dict[str, str]:
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise ValidationError({"email": f"{user.email} is not a member of this project."})
    before = membership.access()
    membership.delete()
    _set_perms(project=project, user=user, codenames=[])
    _withdraw_offer(project=project, user=user, actor=None)
    return before


def _member_removed(*, project: Project, user, actor, stop_running: bool) -> None:
    member_removed.send(sender=Project, project=project, user=user, actor=actor, stop_running=stop_running)


@transaction.atomic
def membership_remove(*, project: Project, user, actor, stop_running_jobs: bool = False) -> None:
    """Remove a member: their waiting and placed jobs are cancelled; their running jobs are
    stopped too with `stop_running_jobs`, else left for the owner to stop (listed on the page)."""
    _refuse_personal(project, "shared")
    _authorize(actor, project)
    before = _membership_delete(project=project, user=user)
    _member_removed(project=project, user=user, actor=actor, stop_running=stop_running_jobs)
    event = audit_record(project=project, actor=actor, action="member.removed",
                         target=user.email, before=before)
    notices.member_removed(project=project, user=user, event=event, actor=actor)


@transaction.atomic
def project_leave(*, project: Project, user) -> None:
    _refuse_personal(project, "left")
    if user.pk == project.owner_id:
        raise ValidationError(
            "The owner cannot leave the project: transfer ownership or delete it instead."
        )
    before = _membership_delete(project=project, user=user)
    _member_removed(project=project, user=user, actor=user, stop_running=False)
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
        owned_compute_changed.send(sender=Project, project=project, actor=actor)
    return project


@transaction.atomic
def project_delete(*, project: Project, actor) -> None:
    _refuse_personal(project, "removed")
    _authorize(actor, project)
    for _receiver, refusal in project_deleting.send(sender=Project, project=project):
        if refusal:
            raise ValidationError(refusal)
    audit_record(project=project, actor=actor, action="project.deleted",
                 before={"name": project.name})
    project.delete()


# ---- adding people by e-mail: membership or invitation --------------------------------------


def _validate_levels(levels: dict[str, str]) -> None:
    for field, level in levels.items():
        if level not in Access.values:
            raise ValidationError({field: f"Choose one of: {', '.join(Access.values)}."})


@transaction.atomic
def member_add_by_email(
    *, project: Project, email: str, jobs: str, datasets: str, models: str, actor
) -> Membership | Invitation:
    """The owner's Add Member: an account with that address (any letter case) becomes a member;
    an unknown address gets a pending invitation by e-mail."""
    _refuse_personal(project, "shared")
    _authorize(actor, project)
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from exc
    levels = {"jobs": jobs, "datasets": datasets, "models": models}
    _validate_levels(levels)
    if address == project.owner.email:
        raise ValidationError({"email": "That is the owner's own address: the owner has full access."})
    user = User.objects.filter(email=address).first()
    if user is not None and not _verified(user, address):
        # Whoever signed up with the address may not own it: like an unknown address, it gets an
        # invitation, accepted when the address is verified (invitations_accept_for).
        user = None
    if user is not None:
        if Membership.objects.filter(project=project, user=user).exists():
            raise ValidationError({"email": f"{address} is already a member of this project."})
        return membership_set(project=project, user=user, actor=actor, **levels)
    invitations_expire(project=project)
    if Invitation.objects.pending().filter(project=project, email=address).exists():
        raise ValidationError({"email": f"{address} already has a pending invitation."})
    return invitation_send(project=project, email=address, actor=actor, **levels)


def _verified(user, address: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=address, verified=True).exists()


def invitation_send(
    *, project: Project, email: str, jobs: str, datasets: str, models: str, actor
) -> Invitation:
    invitation = Invitation(
        project=project, email=email, jobs=jobs, datasets=datasets, models=models,
        invited_by=actor if getattr(actor, "pk", None) else None,
        expires_at=timezone.now() + timedelta(days=settings.TRAINSHED_INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(project=project, actor=actor, action="invitation.sent", target=email,
                 after=invitation.access())
    # After signing in (or signing up and verifying the address) the person lands on the project.
    project_path = reverse("projects:detail", args=[project.pk])
    context = {"invitation": invitation, "project": project, "inviter": actor,
               "days": settings.TRAINSHED_INVITATION_DAYS,
               "signup_link": absolute_url(reverse("account_signup")),
               "signin_link": absolute_url(f"{reverse('account_login')}?next={project_path}")}
    body = render_to_string("projects/email/invitation.txt", context)
    mail_send(to=email, subject=f"You are invited to {project.name}", body=body)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    project = invitation.project
    _authorize(actor, project)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise ValidationError("Only a pending invitation can be revoked.")
    invitation.status = Invitation.Status.REVOKED
    invitation.closed_at = timezone.now()
    invitation.save(update_fields=["status", "closed_at"])
    audit_record(project=project, actor=actor, action="invitation.revoked", target=invitation.email)
    return invitation


def members_changed(projects) -> None:
    """Call in the transaction that writes the member or invitation rows of `projects` (a
    queryset): their cached member tables are then out of date (a new `members_version`)."""
    projects.update(members_version=F("members_version") + 1)


def invitations_expire(*, project: Project | None = None) -> int:
    """Mark pending invitations past their date as expired (with an audit entry each)."""
    now = timezone.now()
    stale = Invitation.objects.pending().filter(expires_at__lte=now)
    if project is not None:
        stale = stale.filter(project=project)
    count = 0
    for invitation in stale.select_related("project"):
        with transaction.atomic():
            updated = Invitation.objects.filter(
                pk=invitation.pk, status=Invitation.Status.PENDING
            ).update(status=Invitation.Status.EXPIRED, closed_at=now)
            if updated:  # update() sends no signal
                members_changed(Project.objects.filter(pk=invitation.project_id))
                count += 1
                audit_record(project=invitation.project, actor=None, action="invitation.expired",
                             target=invitation.email)
    return count


def invitations_pending(*, project: Project) -> list[Invitation]:
    """The project's pending invitations, by e-mail, kept in the cache under its `members_version`
    (as its member table is). A service, not a selector: any found past their date, read now or
    kept from before it, are marked expired first and left out."""
    pending = caches["fragments"].get_or_set(
        f"invitations:{project.pk}",
        lambda: list(Invitation.objects.pending().filter(project=project).order_by("email")),
        version=project.members_version)
    now = timezone.now()
    if any(invitation.expires_at <= now for invitation in pending):
        invitations_expire(project=project)
        pending = [invitation for invitation in pending if invitation.expires_at > now]
    return pending


@transaction.atomic
def accept_invitations_for_verified(*, user) -> list[Membership]:
    """Accept the pending invitations to each of `user`'s verified addresses (after single
    sign-on, whose addresses the identity provider verified)."""

    accepted = []
    for email in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        accepted += invitations_accept_for(user=user, email=email)
    return accepted


@transaction.atomic
def invitations_accept_for(*, user, email: str) -> list[Membership]:
    """`user` has just verified `email`: every pending, unexpired invitation for exactly that
    address becomes a membership with the access it carried."""
    address = normalize_email(email)
    invitations_expire()
    accepted = []
    pending = (
        Invitation.objects.select_for_update()
        .pending().filter(email=address)
        .select_related("project")
    )
    for invitation in pending:
        project = invitation.project
        invitation.status = Invitation.Status.ACCEPTED
        invitation.closed_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["status", "closed_at", "accepted_by"])
        if user.pk == project.owner_id or Membership.objects.filter(project=project, user=user).exists():
            continue
        membership = membership_set(project=project, user=user, actor=None, **invitation.access())
        audit_record(project=project, actor=user, action="invitation.accepted", target=address,
                     after=invitation.access())
        accepted.append(membership)
    return accepted


# ---- ownership transfer ------------------------------------------------------------------------


def _withdraw_offer(*, project: Project, user, actor) -> None:
    """An offer was made to a membership as it stood: when it ends or changes, so does the offer
    (else a removed, re-added read-only member could still accept it)."""
    withdrawn = Project.objects.filter(pk=project.pk, transfer_to=user).update(
        transfer_to=None, transfer_offered_at=None)
    if withdrawn:
        project.transfer_to = None
        project.transfer_offered_at = None
        audit_record(project=project, actor=actor, action="ownership.withdrawn", target=user.email)


def transfer_offer_expired(project: Project, *, now=None) -> bool:

    if project.transfer_offered_at is None:
        return False
    days = settings.TRAINSHED_TRANSFER_OFFER_DAYS
    return project.transfer_offered_at < (now or timezone.now()) - timedelta(days=days)


@transaction.atomic
def transfer_offer(*, project: Project, to_user, actor) -> Project:
    _refuse_personal(project, "transferred")
    _authorize(actor, project)
    if not Membership.objects.filter(project=project, user=to_user).exists():
        raise ValidationError({"member": "Ownership can only be offered to a member of the project."})
    project.transfer_to = to_user
    project.transfer_offered_at = timezone.now()
    project.save(update_fields=["transfer_to", "transfer_offered_at", "updated_at"])
    event = audit_record(project=project, actor=actor, action="ownership.offered", target=to_user.email)
    notices.ownership_offered(project=project, user=to_user, event=event, actor=actor or project.owner)
    return project


@transaction.atomic
def transfer_cancel(*, project: Project, actor) -> Project:
    _authorize(actor, project)
    if project.transfer_to_id is None:
        raise ValidationError("There is no pending ownership offer.")
    target = project.transfer_to.email
    project.transfer_to = None
    project.transfer_offered_at = None
    project.save(update_fields=["transfer_to", "transfer_offered_at", "updated_at"])
    audit_record(project=project, actor=actor, action="ownership.cancelled", target=target)
    return project


@transaction.atomic
def transfer_respond(*, project: Project, user, accept: bool) -> Project:
    """The offered member accepts (atomic switch of owner) or declines."""
    project = Project.objects.select_for_update().select_related("owner").get(pk=project.pk)
    if project.transfer_to_id != user.pk:
        raise ValidationError("There is no ownership offer for you on this project.")
    if transfer_offer_expired(project) or not Membership.objects.filter(project=project, user=user).exists():
        # Nothing changes: an expired offer can never be accepted, the owner may offer it anew.
        raise ValidationError("This ownership offer has expired: ask the owner to offer it again.")
    project.transfer_to = None
    project.transfer_offered_at = None
    if not accept:
        project.save(update_fields=["transfer_to", "transfer_offered_at", "updated_at"])
        event = audit_record(project=project, actor=user, action="ownership.declined", target=user.email)
        notices.ownership_answered(project=project, offerer=project.owner, user=user, event=event,
                                   accepted=False)
        return project
    old_owner = project.owner
    try:
        _clean_name(project.name, owner=user, exclude=project)
    except ValidationError as exc:
        raise ValidationError({"name": f"You already have a project named “{project.name}”: rename one "
                                       "of them before accepting."}) from exc
    Membership.objects.filter(project=project, user=user).delete()
    project.owner = user
    project.save(update_fields=["owner", "transfer_to", "transfer_offered_at", "updated_at"])
    _set_perms(project=project, user=user, codenames=OWNER_PERMS)
    old = Membership.objects.create(
        project=project, user=old_owner, jobs=Access.ALL, datasets=Access.ALL, models=Access.ALL
    )
    _set_perms(project=project, user=old_owner, codenames=_member_perms(old))
    event = audit_record(project=project, actor=user, action="ownership.accepted", target=user.email,
                         before={"owner": old_owner.email}, after={"owner": user.email})
    notices.ownership_answered(project=project, offerer=old_owner, user=user, event=event, accepted=True)
    return project


def last_project_remember(*, user, project: Project) -> None:
    """Remember `project` as the one `user` works in, for their next sign-in."""
    if project.is_personal:
        LastProject.objects.filter(user=user).delete()
    else:
        LastProject.objects.update_or_create(user=user, defaults={"project": project})


def last_project_forget(*, user) -> None:
    """Forget the remembered project (the person lost access to it): next time, Personal."""
    LastProject.objects.filter(user=user).delete()


@transaction.atomic
def project_two_factor_set(*, project: Project, actor, required: bool) -> Project:
    """The owner turns "Members must use two-factor sign-in" on or off (audited). To turn it on
    the owner must use two-factor sign-in themselves."""
    _refuse_personal(project, "configured")
    _authorize(actor, project)
    required = bool(required)
    if required and not project.require_two_factor and not has_two_factor(project.owner):
        raise ValidationError({"require_two_factor": (
            "Turn on two-factor sign-in for your own account first (Account settings → Two-factor "
            "sign-in): the owner of a project that requires it must use it too.")})
    before = project.require_two_factor
    if before != required:
        project.require_two_factor = required
        project.save(update_fields=["require_two_factor", "updated_at"])
        # Members' project lists keep whether they belong to such a project (mfa.locked_projects).
        access.access_changed(project.memberships.values_list("user_id", flat=True))
        audit_record(project=project, actor=actor, action="settings.updated",
                     before={"require_two_factor": before}, after={"require_two_factor": required})
    return project
