from __future__ import annotations

from django.db.models import Count

from projects.models import Membership, Project


def projects_for_user(*, user):
    """Every project `user` can view, Personal first, then by name; owner loaded."""
    return Project.objects.for_user(user).select_related("owner").order_by("-is_personal", "name")


def personal_project(*, user) -> Project:
    return Project.objects.select_related("owner").personal_of(user)


def dashboard(*, user) -> dict:
    """The Projects Dashboard: my projects (Personal first) and those shared with me (a queryset to
    page), each shared one with its owner and my Membership (access per type). A fixed number of
    queries whatever the count."""
    mine = list(
        Project.objects.filter(owner=user)
        .annotate(member_count=Count("memberships"))
        .order_by("-is_personal", "name")
    )
    shared = (
        Membership.objects.filter(user=user).select_related("project__owner").order_by("project__name", "pk")
    )
    return {"mine": mine, "shared": shared}


def members_of(*, project: Project):
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("user__email")
    )


__all__ = ["dashboard", "members_of", "personal_project", "projects_for_user"]


def pending_invitations(*, project: Project):
    from projects.models import Invitation

    return Invitation.objects.filter(project=project, status=Invitation.Status.PENDING).order_by("email")


def audit_events(*, project: Project):
    from projects.models import AuditEvent

    return AuditEvent.objects.filter(project=project).select_related("actor")


def member_emails(*, project: Project) -> list[tuple[int, str]]:
    """(user id, e-mail) of every member, for choosing one (e.g. a new owner)."""
    return list(
        Membership.objects.filter(project=project)
        .order_by("user__email")
        .values_list("user_id", "user__email")
    )
