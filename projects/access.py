"""The one place that answers "may this person do this here?".

Every view, API endpoint and service asks `require()` (or `can()` to decide what to show).
Answers come from django-guardian object permissions on the Project, which `services` keeps in
step with Membership rows and ownership. Nothing is cached across requests: the permissions are
read once per (user object, project), and a request builds a fresh user object.

What a refusal looks like is part of the rule:
- something you may not see at all answers 404 (Http404), identical to a missing id;
- something you may see but not change answers 403 (PermissionDenied).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.http import Http404
from guardian.core import ObjectPermissionChecker

from projects.models import RESOURCE_TYPES, Project

T = TypeVar("T")
What = Literal["project", "jobs", "datasets", "models", "secrets"]
Level = Literal["read", "manage", "administer"]

_CACHE_ATTR = "_trainshed_project_perms"


def perms(user, project: Project) -> frozenset[str]:
    """The codenames `user` holds on `project` (object permissions only, never global ones)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache: dict = user.__dict__.setdefault(_CACHE_ATTR, {})
    if project.pk not in cache:
        checker = user.__dict__.setdefault("_trainshed_checker", ObjectPermissionChecker(user))
        cache[project.pk] = frozenset(checker.get_user_perms(project))
    return cache[project.pk]


# The codenames the rule knows, each a bit of one number that the project's own row carries:
# one row, no join, whatever the number of permissions held. Plain SQL (like the switcher's flag
# in `selectors`); its only value, the person, is bound by the driver.
_RULE_CODENAMES = ("view_project", "view_jobs", "manage_jobs", "view_datasets", "manage_datasets",
                   "view_models", "manage_models", "administer_project")
_HELD_SQL = (
    "(SELECT COALESCE(SUM(DISTINCT CASE p.codename WHEN 'view_project' THEN 1 WHEN 'view_jobs' THEN 2"
    " WHEN 'manage_jobs' THEN 4 WHEN 'view_datasets' THEN 8 WHEN 'manage_datasets' THEN 16"
    " WHEN 'view_models' THEN 32 WHEN 'manage_models' THEN 64 WHEN 'administer_project' THEN 128"
    " ELSE 0 END), 0) FROM projects_projectuserobjectpermission o"
    " INNER JOIN auth_permission p ON p.id = o.permission_id"
    " WHERE o.user_id = %s AND o.content_object_id = projects_project.id)"
)


def _held(bits: int) -> frozenset[str]:
    return frozenset(codename for bit, codename in enumerate(_RULE_CODENAMES) if bits & (1 << bit))


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _visible(user, project: Project) -> Project | None:
    """Keep the permissions the query read (`held_bits`) for the `can()`/`require()` calls that
    follow in this request; the project if they let `user` view it."""
    held = _held(project.held_bits)
    user.__dict__.setdefault(_CACHE_ATTR, {})[project.pk] = held
    return project if "view_project" in held else None


def viewable_project(user, *, queryset=None, **lookup) -> Project | None:
    """The project matching `lookup` (e.g. `pk=…`) if `user` may view it, else None; its owner
    loaded and `user`'s permissions on it read in the same query, so the `can()`/`require()`
    calls that follow in this request ask the database nothing more. `queryset` (of Project; by
    default with the owner loaded) may shape that one query. `lookup` must name one project."""
    if not _signed_in(user):
        return None
    held_bits = RawSQL(_HELD_SQL, (user.pk,), output_field=IntegerField())  # noqa: S611 (literal SQL)
    rows = list(
        (Project.objects.select_related("owner") if queryset is None else queryset)
        .annotate(held_bits=held_bits).filter(**lookup).order_by()[:1]
    )
    return _visible(user, rows[0]) if rows else None


# The header's project, which every page asks for: the project's columns, the person's bits and
# whether they can view a project besides it (the header then shows the switcher), by id or as
# their Personal project. Written out once per process: through the ORM, building the statement
# took as long as the database took to answer it. Its values are bound by the driver.
_OTHER_PROJECTS_SQL = (
    "EXISTS(SELECT 1 FROM projects_projectuserobjectpermission o"
    " INNER JOIN auth_permission p ON p.id = o.permission_id"
    " WHERE o.user_id = %s AND p.codename = 'view_project' AND o.content_object_id <> projects_project.id)"
)
_COLUMNS = ", ".join(f'projects_project."{field.column}"' for field in Project._meta.concrete_fields)
_ACTIVE_SQL = (
    f"SELECT {_COLUMNS}, {_OTHER_PROJECTS_SQL} AS has_other_projects, {_HELD_SQL} AS held_bits"  # noqa: S608
    " FROM projects_project WHERE "
)
_ACTIVE_BY_ID_SQL = _ACTIVE_SQL + "projects_project.id = %s"
_ACTIVE_PERSONAL_SQL = _ACTIVE_SQL + "projects_project.owner_id = %s AND projects_project.is_personal = %s"


def active_project(user, pk=None) -> Project | None:
    """The project `pk` (without one, `user`'s Personal project) if `user` may view it, else None;
    with `has_other_projects`, and `user`'s permissions read as `viewable_project` reads them, in
    one statement. Raises ValidationError if `pk` is no project id."""
    if not _signed_in(user):
        return None
    if pk is None:
        sql, params = _ACTIVE_PERSONAL_SQL, [user.pk, user.pk, user.pk, True]
    else:
        field = Project._meta.pk
        value = field.get_db_prep_value(field.to_python(pk), connections[Project.objects.db])
        sql, params = _ACTIVE_BY_ID_SQL, [user.pk, user.pk, value]
    rows = list(Project.objects.raw(sql, params))  # noqa: S611 (literal SQL, values bound)
    return _visible(user, rows[0]) if rows else None


def forget(user) -> None:
    """Drop what this user object knows of its permissions (after a change in the same request)."""
    if user is not None:
        user.__dict__.pop(_CACHE_ATTR, None)


def _needed(what: What, level: Level) -> tuple[str, str | None]:
    """(permission that makes the thing visible, permission the action needs beyond that)."""
    if what == "project":
        if level == "read":
            return "view_project", None
        return "view_project", "administer_project"
    if what == "secrets":
        # Keys and secrets are invisible to everyone but the owner: no 403 that says they exist.
        return "administer_project", None
    if what in RESOURCE_TYPES:
        if level == "read":
            return f"view_{what}", None
        if level == "manage":
            return f"view_{what}", f"manage_{what}"
    raise ValueError(f"Unknown access question: {what}/{level}")


def can(user, project: Project, what: What = "project", level: Level = "read") -> bool:
    held = perms(user, project)
    visible, action = _needed(what, level)
    return "view_project" in held and visible in held and (action is None or action in held)


def require(user, project: Project, what: What = "project", level: Level = "read") -> None:
    """Raise Http404 if `user` may not see `what` in `project`, PermissionDenied if they may see
    it but not act at `level`."""
    held = perms(user, project)
    visible, action = _needed(what, level)
    if "view_project" not in held or visible not in held:
        raise Http404
    if action is not None and action not in held:
        raise PermissionDenied


def project_for(user, project_id, what: What = "project", level: Level = "read") -> Project:
    """Look a project up by id and `require` access: a missing id and a hidden project answer
    the same 404."""
    try:
        project = viewable_project(user, pk=project_id)
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if project is None:
        raise Http404
    require(user, project, what, level)
    return project


def access_summary(user, project: Project) -> dict[str, str]:
    """For display: {"jobs": "all"|"read"|"none", ...} as the permissions stand."""
    held = perms(user, project)
    out = {}
    for rt in RESOURCE_TYPES:
        out[rt] = "all" if f"manage_{rt}" in held else "read" if f"view_{rt}" in held else "none"
    return out


def is_owner(user, project: Project) -> bool:
    return "administer_project" in perms(user, project)


def require_object(user, project: Project, what: What, level: Level, get: Callable[[], T]) -> T:
    """The order for one object of `what` in `project`: 404 unless the person may see `what` there
    AND the object is in the project (`get()` looks it up inside the project's scope); only then
    403 if `level` needs more than they have. So an id from another project is always a 404,
    whatever the person's access where they are."""
    require(user, project, what, "read")
    obj = get()
    require(user, project, what, level)
    return obj
