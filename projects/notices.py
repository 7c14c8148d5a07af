"""What project services tell people (accounts.notify does the telling, once per audit event)."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import NoticeKind
from accounts.notify import notify
from projects.models import Access, AuditEvent, Project

LEVELS = dict(Access.choices)


def _access_text(levels: dict[str, str]) -> str:
    return ", ".join(f"{rt} {LEVELS.get(levels.get(rt), levels.get(rt))}"
                     for rt in ("jobs", "datasets", "models"))


def _by(actor) -> str:
    return f" by {actor.get_full_name()}" if getattr(actor, "pk", None) else ""


def _project_url(project: Project) -> str:
    return reverse("projects:detail", args=[project.pk])


def member_added(*, project: Project, user, event: AuditEvent, actor) -> None:
    notify(user=user, kind=NoticeKind.MEMBER_ADDED, key=f"audit:{event.pk}",
           subject=f"You were added to {project.name}",
           text=f"Added{_by(actor)}. Your access: {_access_text(event.after)}.",
           url=_project_url(project))


def access_changed(*, project: Project, user, event: AuditEvent, actor) -> None:
    notify(user=user, kind=NoticeKind.ACCESS_CHANGED, key=f"audit:{event.pk}",
           subject=f"Your access to {project.name} changed",
           text=f"Changed{_by(actor)} from {_access_text(event.before)} to {_access_text(event.after)}.",
           url=_project_url(project))


def member_removed(*, project: Project, user, event: AuditEvent, actor) -> None:
    notify(user=user, kind=NoticeKind.MEMBER_REMOVED, key=f"audit:{event.pk}",
           subject=f"You were removed from {project.name}",
           text=f"Removed{_by(actor)}: the project and its jobs, datasets and models are no longer "
                "yours to see.")


def ownership_offered(*, project: Project, user, event: AuditEvent, actor) -> None:
    notify(user=user, kind=NoticeKind.OWNERSHIP_OFFER, key=f"audit:{event.pk}",
           subject=f"{actor.get_full_name()} offers you ownership of {project.name}",
           text="Accept or decline on the project's page. As owner you would pay for everything "
                "used in it.",
           url=_project_url(project))


def ownership_answered(*, project: Project, offerer, user, event: AuditEvent, accepted: bool) -> None:
    answer = "accepted" if accepted else "declined"
    notify(user=offerer, kind=NoticeKind.OWNERSHIP_ANSWER, key=f"audit:{event.pk}",
           subject=f"{user.get_full_name()} {answer} ownership of {project.name}",
           text=("They own it now; you stay a member with full access." if accepted
                 else "You still own the project."),
           url=_project_url(project))
