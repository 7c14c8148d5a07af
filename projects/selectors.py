from __future__ import annotations

from django.db.models import Count, Exists, F

from config.statements import Statement, field_names
from projects.mfa import locked_for  # signin
from projects.models import Invitation, Membership, Project


def projects_for_user(*, user):
    """Every project `user` can view, Personal first, then by name; owner loaded."""
    return Project.objects.for_user(user).select_related("owner").order_by("-is_personal", "name")


SWITCHER_LIMIT = 10


def _choices(user, query):
    qs = Project.objects.viewable_by(user)
    if query is not None:
        qs = qs.filter(name__icontains=query)
    return (qs.annotate(owner_email=F("owner__email")).order_by("-is_personal", "name", "pk")
            .values("pk", "name", "owner_id", "owner_email"))


_CHOICES = Statement(lambda user: _choices(user, None))


def switcher_choices(*, user, query: str = "", limit: int = SWITCHER_LIMIT) -> tuple[list, bool]:
    """What the header's switcher offers: up to `limit` of the projects `user` can view (Personal
    first, then by name; those whose name contains `query`), as light rows (pk, name, owner_id,
    owner_email), and whether there are more. One query with a LIMIT, whatever the count; the
    one without a search (every opening of the switcher) built once per process."""
    if not user.is_authenticated or not user.is_active:
        return [], False
    rows = (_CHOICES.bind(user=user.pk) if not query else _choices(user.pk, query))[0:limit + 1]
    return list(rows[:limit]), len(rows) > limit


_MINE = Statement(lambda user: (
    Project.objects.filter(owner=user)
    .annotate(member_count=Count("memberships"))
    .order_by("-is_personal", "name", "pk")
    .values("pk", "name", "is_personal", "created_at", "member_count")
))
_SHARED = Statement(lambda user: (
    Membership.objects.filter(user=user)
    .exclude(locked_for(user, prefix="project__"))  # signin: listed apart, marked locked
    .order_by("project__name", "pk")
    .values("jobs", "datasets", "models", pk=F("project_id"), name=F("project__name"),
            owner_email=F("project__owner__email"), transfer_to_id=F("project__transfer_to_id"))
))


def dashboard(*, user) -> dict:
    """The Projects Dashboard's two lists, as plain rows to page: the projects `user` owns
    (Personal first, each with its member count) and those shared with them (owner, whether they
    are offered ownership, and their access per type). One query each whatever the count, built
    once per process (`config.statements`)."""
    return {"mine": _MINE.bind(user=user.pk), "shared": _SHARED.bind(user=user.pk)}


_MEMBER_ROWS = Statement(lambda project: (
    Membership.objects.filter(project=project)
    .order_by("user__email")
    .values("pk", "user_id", "jobs", "datasets", "models", email=F("user__email"),
            invitations_pending=Exists(pending_invitations(project=project)))
))


def member_rows(*, project: Project):
    """The project's members as plain rows for its member table (pk, user_id, email and the
    access per type), by e-mail: one query built once per process; slice it for a page. Each
    row also says whether the project has a pending invitation (`invitations_pending`, the same
    on every row): a page of members then needs no query for invitations when there are none."""
    return _MEMBER_ROWS.bind(project=project.pk)


def members_of(*, project: Project):
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("user__email")
    )


__all__ = ["dashboard", "member_rows", "members_of", "projects_for_user",
           "switcher_choices"]


def pending_invitations(*, project: Project):
    return Invitation.objects.filter(project=project, status=Invitation.Status.PENDING).order_by("email")


_PENDING = Statement(lambda project: pending_invitations(project=project).values(*field_names(Invitation)))


def pending_invitations_list(*, project: Project) -> list[Invitation]:
    """`pending_invitations` read: one query built once per process (every project page asks)."""
    return _PENDING.bind(project=project.pk).instances(Invitation)


def audit_events(*, project: Project):
    from projects.models import AuditEvent

    return AuditEvent.objects.filter(project=project).select_related("actor")
