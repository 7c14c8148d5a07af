from __future__ import annotations

from django.db.models import CharField, Count, F, QuerySet, Value
from django.utils import timezone

from core.paging import Chain
from projects.models import AuditEvent, Invitation, Membership, Project, locked_for
from projects.signals import ownership_accepting


def projects_for_user(*, user):
    """Every project `user` can view, Personal first, then by name; owner loaded."""
    return Project.objects.for_user(user).select_related("owner").order_by("-is_personal", "name")


SWITCHER_LIMIT = 10


def switcher_choices(*, user, query: str = "", limit: int = SWITCHER_LIMIT) -> tuple[list, bool]:
    """What the header's switcher offers: up to `limit` of the projects `user` can view (Personal
    first, then by name; those whose name contains `query`) as light rows, and whether there are
    more. One query with a LIMIT, whatever the count."""
    if not user.is_authenticated or not user.is_active:
        return [], False
    qs = Project.objects.viewable_by(user)
    if query:
        qs = qs.filter(name__icontains=query)
    rows = list(qs.order_by("-is_personal", "name", "pk")
                .values("pk", "name", "owner_id", owner_email=F("owner__email"))[:limit + 1])
    return rows[:limit], len(rows) > limit


def projects_owned(*, user) -> QuerySet:
    """The projects `user` owns, Personal first, each with its member count (rows to page)."""
    return (Project.objects.filter(owner=user).annotate(member_count=Count("memberships"))
            .order_by("-is_personal", "name", "pk")
            .values("pk", "name", "is_personal", "created_at", "member_count"))


def projects_shared(*, user, locked=None) -> QuerySet:
    """The projects shared with `user`: owner, whether they are offered ownership, their access.
    Those locked for them (listed apart) are left out; `locked`, their ids if the caller has them
    (`mfa.locked_projects`), spares the query the two-factor condition (almost always none)."""
    rows = Membership.objects.filter(user=user)
    if locked is None:
        rows = rows.exclude(locked_for(user, prefix="project__"))
    elif locked:
        rows = rows.exclude(project_id__in=locked)
    return (rows.order_by("project__name", "pk")
            .values("jobs", "datasets", "models", pk=F("project_id"), name=F("project__name"),
                    owner_email=F("project__owner__email"), transfer_to_id=F("project__transfer_to_id")))


def member_rows(*, project: Project) -> QuerySet:
    """The project's members for its member table, by e-mail (rows to page)."""
    return (Membership.objects.filter(project=project).order_by("user__email")
            .values("pk", "user_id", "jobs", "datasets", "models", email=F("user__email")))


def member_list_rows(*, project: Project, invitations: bool) -> QuerySet | Chain:
    """The API's member list as rows in the shape it answers: the members by e-mail, then (for the
    owner: `invitations`) the pending invitations not past their date, by e-mail. Paged by keyset.
    `listed_as` is "member" or "invited" (an invitation has a `status` field of its own)."""
    levels = ("jobs", "datasets", "models")
    members = (Membership.objects.filter(project=project)
               .values("pk", *levels, email=F("user__email"), name=F("user__name"),
                       listed_as=Value("member", output_field=CharField()))
               .order_by("email"))
    if not invitations:
        return members
    pending = (Invitation.objects.pending().filter(project=project, expires_at__gt=timezone.now())
               .values("pk", "email", *levels, name=Value("", output_field=CharField()),
                       listed_as=Value("invited", output_field=CharField()))
               .order_by("email"))
    return Chain((members, pending))


def members_of(*, project: Project):
    return Membership.objects.filter(project=project).select_related("user").order_by("user__email")


def audit_events(*, project: Project) -> QuerySet:
    return AuditEvent.objects.filter(project=project).select_related("actor")


__all__ = ["audit_events", "member_list_rows", "member_rows", "members_of", "projects_for_user",
           "projects_owned", "projects_shared", "switcher_choices"]


def ownership_warnings(*, project: Project, user) -> list[str]:
    """What `user` should know before accepting ownership of `project` (other apps answer
    `ownership_accepting`); empty when nothing stands in the way. Reads only."""
    return [str(w) for _r, w in ownership_accepting.send(sender=Project, project=project, user=user) if w]
