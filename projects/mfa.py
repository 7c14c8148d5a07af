"""Owner-required two-factor sign-in: the project setting "Members must use two-factor sign-in".

While it is on, a member without two-factor sign-in is treated as having no access to the project
(404 everywhere, not in the switcher), except that the project stays in their project list marked
locked, and their API keys are told why (403 naming the setting). The owner is never locked out
(they cannot turn the setting on without two-factor themselves).

The access helper (`projects.access`) asks `lacks_required_mfa` for one project; lists filter
with `locked_for`, one condition in the same query (no query per row).
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef

from accounts.two_factor import FACTORS, has_two_factor, users_with_two_factor
from projects.models import Membership, Project, locked_for

SETTING = "Members must use two-factor sign-in"
API_REFUSAL = (
    f"This project requires two-factor sign-in (“{SETTING}”): turn on two-factor sign-in under "
    "Account settings → Two-factor sign-in to use it."
)


def lacks_required_mfa(user, project: Project) -> bool:
    """Whether `project` requires two-factor sign-in of its members and `user`, not its owner,
    has none. No query unless the project requires it (then at most one, per request)."""
    return (
        project.require_two_factor
        and project.owner_id != getattr(user, "pk", None)
        and not has_two_factor(user)
    )


def locked_projects(*, user) -> list[Project]:
    """The projects shared with `user` that they cannot open until they turn two-factor on, for
    their project list, whatever their number: one query when they belong to a project that
    requires it, none otherwise (plus one whenever the cache has to learn which)."""
    if not getattr(user, "is_authenticated", False):
        return []
    # Almost always none: whether the account is a member of any project that requires it is kept
    # under its access_version, which adding a member and turning the setting on both bump.
    if not caches["access"].get_or_set(
        f"member-of-two-factor-projects:{user.pk}",
        lambda: Membership.objects.filter(user_id=user.pk, project__require_two_factor=True).exists(),
        version=user.access_version,
    ):
        return []
    return list(
        Project.objects.filter(memberships__user=user).filter(locked_for(user.pk))
        .select_related("owner").order_by("name")
    )


def members_locked_out() -> list[tuple[str, int]]:
    """For operators (`doctor`): each project that requires two-factor sign-in and has members
    without it, with their number."""
    lacking = ~Exists(Authenticator.objects.filter(user_id=OuterRef("user_id"), type__in=FACTORS))
    rows = (Membership.objects.filter(project__require_two_factor=True).filter(lacking)
            .values("project__name").annotate(n=Count("pk")).order_by("project__name"))
    return [(row["project__name"], row["n"]) for row in rows]


def refuse_if_mfa_required(user, project_id) -> None:
    """For the API, after a project answered 404: if it is hidden from `user` only because it
    requires two-factor sign-in of its members, say so (403 naming the setting) — the member knows
    the project exists. Anyone else keeps the 404."""
    if not getattr(user, "is_authenticated", False) or has_two_factor(user):
        return
    if Membership.objects.filter(project_id=project_id, user=user, project__require_two_factor=True).exists():
        raise PermissionDenied(API_REFUSAL)


# ---- what the owner sees (the setting itself is projects.services.project_two_factor_set) ----


def owner_panel(*, project: Project, member_rows, is_owner: bool) -> dict:
    """For the owner's project page: the setting, whether the owner has two-factor, and which of
    the members on this page have it (one query)."""
    if not is_owner or project.is_personal:
        return {}
    rows = list(member_rows)
    with_it = users_with_two_factor([project.owner_id, *(row["user_id"] for row in rows)])
    return {"two_factor": {
        "required": project.require_two_factor,
        "owner_has_it": project.owner_id in with_it,
        "members": [{"email": row["email"], "has_it": row["user_id"] in with_it} for row in rows],
    }}
