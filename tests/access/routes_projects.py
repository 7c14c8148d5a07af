from projects import services
from projects.models import Membership
from tests.access.spec import (
    ANY_SIGNED_IN,
    OWNER_ADMIN,
    PROJECT_VISIBLE,
    Route,
    builder,
)


@builder("membership")
def _membership(world):
    return Membership.objects.get(project=world.project, user=world.people["member_read"])


@builder("invitation")
def _invitation(world):
    return services.member_add_by_email(
        project=world.project, email="nobody-yet@example.com", jobs="all", datasets="read",
        models="read", actor=None,
    )


def _project(w):
    return {"project_id": w.project.pk}


ROUTES = {
    "home": Route(get=ANY_SIGNED_IN),
    "projects:list": Route(get=ANY_SIGNED_IN),
    "projects:create": Route(get=ANY_SIGNED_IN, post=ANY_SIGNED_IN),
    "projects:switch": Route(post=PROJECT_VISIBLE, data=lambda w: {"project": str(w.project.pk)}),
    "projects:switcher": Route(get=ANY_SIGNED_IN),
    "projects:detail": Route(kwargs=_project, get=PROJECT_VISIBLE),
    "projects:rename": Route(kwargs=_project, post=OWNER_ADMIN, data=lambda w: {"name": "Renamed"}),
    "projects:delete": Route(kwargs=_project, get=OWNER_ADMIN, post=OWNER_ADMIN),
    "projects:audit": Route(kwargs=_project, get=OWNER_ADMIN),
    # Turning it on needs the owner's own two-factor (refused with a message, still a 302 "ok").
    "projects:two-factor": Route(kwargs=_project, get=OWNER_ADMIN, post=OWNER_ADMIN,
                                 data=lambda w: {"require_two_factor": "on"}),
    "projects:member-add": Route(
        kwargs=_project, post=OWNER_ADMIN,
        data=lambda w: {"email": "new@example.com", "jobs": "all", "datasets": "read", "models": "read"},
    ),
    "projects:member-update": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "membership_id": w.membership.pk},
        post=OWNER_ADMIN,
        data=lambda w: {f"{w.membership.pk}-{rt}": level for rt, level in
                        (("jobs", "read"), ("datasets", "read"), ("models", "none"))},
    ),
    "projects:member-remove": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "membership_id": w.membership.pk},
        post=OWNER_ADMIN,
    ),
    "projects:invitation-revoke": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "invitation_id": w.invitation.pk},
        post=OWNER_ADMIN,
    ),
    "projects:leave": Route(kwargs=_project, post=PROJECT_VISIBLE),
    "projects:transfer-offer": Route(
        kwargs=_project, post=OWNER_ADMIN,
        data=lambda w: {"member": w.people["member_all"].email},
    ),
    "projects:transfer-cancel": Route(kwargs=_project, post=OWNER_ADMIN),
    "projects:transfer-respond": Route(
        kwargs=_project, post=PROJECT_VISIBLE, data=lambda w: {"decision": "accept"}
    ),
}

