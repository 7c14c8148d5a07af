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
from django.http import Http404
from guardian.core import ObjectPermissionChecker

from config.statements import Columns
from projects.mfa import lacks_required_mfa  # signin
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
        if lacks_required_mfa(user, project):  # signin: owner-required two-factor → no access
            cache[project.pk] = frozenset()
    return cache[project.pk]


# The codenames the rule knows, each a bit of one number that the project's own row carries:
# one row, no join, whatever the number of permissions held.
_RULE_CODENAMES = ("view_project", "view_jobs", "manage_jobs", "view_datasets", "manage_datasets",
                   "view_models", "manage_models", "administer_project")


def _held(bits: int) -> frozenset[str]:
    return frozenset(codename for bit, codename in enumerate(_RULE_CODENAMES) if bits & (1 << bit))


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _permission_ids() -> dict[str, int]:
    """The rule's permissions' ids by codename (0 for one `migrate` has not created yet)."""
    from django.contrib.auth.models import Permission

    found = Permission.objects.filter(
        content_type__app_label=Project._meta.app_label, content_type__model=Project._meta.model_name,
        codename__in=_RULE_CODENAMES).values_list("codename", "id")
    return dict.fromkeys(_RULE_CODENAMES, 0) | dict(found)


# A project as every page reads it: its columns, its owner's, whether the person can view a
# project besides it (the header then shows the switcher) and their permission bits, by id or as
# their Personal project. One literal statement, written once per process: through the ORM,
# building it took as long as the database took to answer. Its values are bound by the driver.
# It matches the permissions by their ids, written into it: through a join of auth_permission
# by codename, planning the statement took PostgreSQL longer than running it.
_STATEMENT: list[tuple[str, tuple, type, tuple, Columns]] = []


def _statement() -> tuple[str, tuple, type, tuple, Columns]:
    """The statement up to its WHERE; the project's fields, the owner's model and fields, and the
    columns of both, in the statement's order. Kept once every permission exists, until the next
    migration or flush (which may create them anew, with new ids). An id no longer in use
    matches no row: a stale statement could only refuse access, never widen it."""
    if _STATEMENT:
        return _STATEMENT[0]
    ids = _permission_ids()
    bits = " ".join(f"WHEN {int(ids[name])} THEN {1 << bit}" for bit, name in enumerate(_RULE_CODENAMES))
    held = (  # the permission bits
        f"(SELECT COALESCE(SUM(DISTINCT CASE o.permission_id {bits} ELSE 0 END), 0)"  # noqa: S608
        " FROM projects_projectuserobjectpermission o"
        " WHERE o.user_id = %s AND o.content_object_id = projects_project.id)"
    )
    other = (  # the switcher's flag
        "EXISTS(SELECT 1 FROM projects_projectuserobjectpermission o"  # noqa: S608
        f" WHERE o.user_id = %s AND o.permission_id = {int(ids['view_project'])}"
        " AND o.content_object_id <> projects_project.id)"
    )
    project_fields = tuple(Project._meta.concrete_fields)
    owner = Project._meta.get_field("owner").related_model
    owner_fields = tuple(owner._meta.concrete_fields)
    columns = ", ".join([f'projects_project."{f.column}"' for f in project_fields]
                        + [f'project_owner."{f.column}"' for f in owner_fields])
    join = f'"{owner._meta.db_table}" project_owner ON project_owner."{owner._meta.pk.column}"'
    sql = (
        f"SELECT {columns}, {other}, {held} FROM projects_project"  # noqa: S608
        f" INNER JOIN {join} = projects_project.owner_id WHERE "
    )
    built = sql, project_fields, owner, owner_fields, Columns(
        [f.get_col(Project._meta.db_table) for f in project_fields]
        + [f.get_col(owner._meta.db_table) for f in owner_fields])
    if all(ids.values()):
        _STATEMENT.append(built)
    return built


def _forget_statement() -> None:
    _STATEMENT.clear()


def read_permission_ids(sender, using="default", **kwargs) -> None:
    """After `migrate` (or a flush) has created this app's permissions, perhaps anew with new
    ids: the statement is written again, at once (so a request's first query is its own). A
    post_migrate receiver of this app, connected after auth's, which creates the permissions."""
    _forget_statement()
    if using == Project.objects.db:
        _statement()


def viewable_project(user, pk=None) -> Project | None:
    """The project `pk` (without one, `user`'s Personal project) if `user` may view it, else None;
    its owner loaded, `has_other_projects` set, and `user`'s permissions on it read in the same
    statement, so the `can()`/`require()` calls that follow in this request ask the database
    nothing more. Raises ValidationError if `pk` is no project id."""
    return viewable_projects(user, pk)[0]


_PERSONAL = "(projects_project.owner_id = %s AND projects_project.is_personal)"


def viewable_projects(user, pk, other=False) -> tuple[Project | None, Project | None]:
    """`viewable_project(user, pk)` and, in the same statement, `viewable_project(user, other)`
    (`other` None: the Personal project; left out: not read, the second is None). For a page
    about one project that also shows the active one in its header."""
    if not _signed_in(user):
        return None, None
    sql, project_fields, owner, owner_fields, columns = _statement()
    connection = connections[Project.objects.db]
    field = Project._meta.pk
    wanted, conditions, params = [], [], [user.pk, user.pk]
    for key in (pk, other) if other is not False else (pk,):
        if key is None:
            conditions.append(_PERSONAL)
            params.append(user.pk)
        else:
            key = field.to_python(key)
            conditions.append("projects_project.id = %s")
            params.append(field.get_db_prep_value(key, connection))
        wanted.append(key)
    with connection.cursor() as cursor:
        cursor.execute(sql + " OR ".join(conditions), params)
        rows = cursor.fetchall()
    split, found = len(project_fields), {}
    for row, values in zip(rows, columns.convert([row[:-2] for row in rows], connection), strict=True):
        project = Project.from_db(connection.alias, [f.attname for f in project_fields], values[:split])
        project.owner = owner.from_db(connection.alias, [f.attname for f in owner_fields], values[split:])
        project.has_other_projects, held = bool(row[-2]), _held(row[-1])
        if lacks_required_mfa(user, project):  # signin: owner-required two-factor → no access
            held = frozenset()
        user.__dict__.setdefault(_CACHE_ATTR, {})[project.pk] = held
        if "view_project" in held:
            found[project.pk] = project
            if project.is_personal and project.owner_id == user.pk:
                found[None] = project
    return tuple(found.get(key) for key in wanted) + (None,) * (2 - len(wanted))


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
        project = viewable_project(user, project_id)
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
