"""The one place that answers "may this person do this here?".

Every view, API endpoint and service asks `require()` (or `can()` to decide what to show).
Answers come from django-guardian object permissions on the Project, which `services` keeps in
step with Membership rows and ownership. The header's reading of them (`viewable_project`, every
page) is kept in the cache under the account's `access_version`, which every write to its
permission rows bumps in the same transaction (`access_changed`): a change counts from the very
next request, in every process. The project row itself is always read afresh.

What a refusal looks like is part of the rule:
- something you may not see at all answers 404 (Http404), identical to a missing id;
- something you may see but not change answers 403 (PermissionDenied).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef
from django.http import Http404
from guardian.core import ObjectPermissionChecker

from projects.mfa import lacks_required_mfa
from projects.models import RESOURCE_TYPES, Project, ProjectUserObjectPermission

T = TypeVar("T")
What = Literal["project", "jobs", "datasets", "models", "secrets"]
Level = Literal["read", "manage", "administer"]

_CACHE_ATTR = "_trainshed_project_perms"
_FRESH_ATTR = "_trainshed_access_changed"  # this user object's access_version is behind the row's
_ROWS_ATTR = "_trainshed_project_rows"  # project rows read ahead for this request (`preload`)
CACHE_ALIAS = "access"


def perms(user, project: Project) -> frozenset[str]:
    """The codenames `user` holds on `project` (object permissions only, never global ones)."""
    if not _signed_in(user):
        return frozenset()
    cache: dict = user.__dict__.setdefault(_CACHE_ATTR, {})
    if project.pk not in cache:
        checker = user.__dict__.setdefault("_trainshed_checker", ObjectPermissionChecker(user))
        cache[project.pk] = frozenset(checker.get_user_perms(project))
        if lacks_required_mfa(user, project):  # the owner requires two-factor: no access until it is on
            cache[project.pk] = frozenset()
    return cache[project.pk]


# The codenames the rule knows.
RULE_CODENAMES = ("view_project", "view_jobs", "manage_jobs", "view_datasets", "manage_datasets",
                  "view_models", "manage_models", "administer_project")


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _access_key(user, pk) -> str:
    """The access cache's key of `user`'s permissions on project `pk` (None: their Personal one),
    read under the version `user.access_version`."""
    return f"project-access:{user.pk}:{pk or 'personal'}"


def viewable_project(user, pk=None) -> Project | None:
    """The project `pk` (without one, `user`'s Personal project) if `user` may view it, else None.
    Sets `has_other_projects` on it (the header then shows the switcher), and remembers the
    person's permissions there for this request, so the `can()`/`require()` calls that follow ask
    nothing more. One query: the project with its owner's e-mail when the permissions are cached,
    else the person's permission rows on it, each with the project and its owner's e-mail.
    Raises ValidationError if `pk` is no project id."""
    if not _signed_in(user):
        return None
    if pk is not None:
        pk = Project._meta.pk.to_python(pk)
    cache = caches[CACHE_ALIAS]
    key, version = _access_key(user, pk), user.access_version
    known = None if user.__dict__.get(_FRESH_ATTR) else cache.get(key, version=version)
    if known is None:
        project, held, others = _read_access(user, pk)
        if project is None:
            return None
        cache.set(key, (project.pk, held, others), version=version)
    else:
        project_pk, held, others = known
        project = user.__dict__.get(_ROWS_ATTR, {}).pop(project_pk, None)  # read by `preload`
        if project is None:
            try:  # get(), not filter().first(): no ORDER BY to build for a lookup by pk
                project = Project.objects.with_owner_email().get(pk=project_pk)
            except Project.DoesNotExist:
                return None
    project.has_other_projects = others
    if lacks_required_mfa(user, project):  # the owner requires two-factor: no access until it is on
        held = frozenset()
    user.__dict__.setdefault(_CACHE_ATTR, {})[project.pk] = held
    return project if "view_project" in held else None


def preload(user, pks) -> None:
    """Read in one query the rows of the projects `pks` (None: the Personal project) whose
    access the cache holds, for the `viewable_project` calls that follow in this request (a page
    about one project under the header's active one): each row serves one call. Decides nothing:
    those calls still answer from the cached permissions."""
    if not _signed_in(user) or user.__dict__.get(_FRESH_ATTR):
        return
    cache, wanted = caches[CACHE_ALIAS], set()
    for pk in pks:
        try:
            pk = Project._meta.pk.to_python(pk) if pk is not None else None
        except ValidationError:
            continue
        known = cache.get(_access_key(user, pk), version=user.access_version)
        if known is not None:
            wanted.add(known[0])
    if len(wanted) > 1:  # one alone costs the same query later
        user.__dict__.setdefault(_ROWS_ATTR, {}).update(
            Project.objects.with_owner_email().in_bulk(wanted))


def _read_access(user, pk) -> tuple[Project | None, frozenset[str], bool]:
    """(the project, the codenames `user` holds on it, whether they may view another project),
    from guardian's table in one query; (None, …) if they hold nothing there."""
    rows = ProjectUserObjectPermission.objects.filter(user_id=user.pk)
    if pk is None:
        rows = rows.filter(content_object__owner_id=user.pk, content_object__is_personal=True)
    else:
        rows = rows.filter(content_object_id=pk)
    others = (ProjectUserObjectPermission.objects.filter(user_id=user.pk, permission__codename="view_project")
              .exclude(content_object_id=OuterRef("content_object_id")))
    rows = list(rows.select_related("content_object")
                .annotate(codename=F("permission__codename"), has_other_projects=Exists(others),
                          owner_email=F("content_object__owner__email")))
    if not rows:
        return None, frozenset(), False
    rows[0].content_object.owner_email = rows[0].owner_email
    return rows[0].content_object, frozenset(row.codename for row in rows), rows[0].has_other_projects


def access_changed(user_ids) -> None:
    """Call in the transaction that writes these accounts' permission rows: their cached
    permissions are then out of date for every later request (a new `access_version`)."""
    get_user_model().objects.filter(pk__in=list(user_ids)).update(access_version=F("access_version") + 1)


def perms_preload(user, projects) -> None:
    """Read `user`'s permissions on all of `projects` in one query (a page of a list), so that the
    `can()`/`access_summary()` calls for each of them that follow in this request ask nothing more.
    Like `perms`, within this request only."""
    if not _signed_in(user):
        return
    cache: dict = user.__dict__.setdefault(_CACHE_ATTR, {})
    wanted = {p.pk: p for p in projects if p.pk not in cache}
    if not wanted:
        return
    held: dict = {pk: set() for pk in wanted}
    rows = (ProjectUserObjectPermission.objects.filter(user_id=user.pk, content_object_id__in=wanted)
            .values_list("content_object_id", "permission__codename"))
    for pk, codename in rows:
        held[pk].add(codename)
    for pk, project in wanted.items():
        cache[pk] = frozenset() if lacks_required_mfa(user, project) else frozenset(held[pk])


def forget(user) -> None:
    """Drop what this user object knows of its permissions (after a change in the same request):
    its `access_version` is the one read at the start of the request, so skip the cache too."""
    if user is not None:
        user.__dict__.pop(_CACHE_ATTR, None)
        user.__dict__.pop(_ROWS_ATTR, None)
        user.__dict__[_FRESH_ATTR] = True


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


def object_project(user, model, pk, what: What) -> Project:
    """The project that object `pk` of `model` (anything with a `project` FK) belongs to, if `user`
    may read `what` there, whatever their active project: a link to a job, dataset or model works
    for anyone who may read it, and everything done on that page acts in ITS project. A missing
    id, a malformed one and an object in a project the person may not read all answer the same
    404. The caller still looks the object up inside the returned project's scope."""
    try:
        project_id = model._default_manager.filter(pk=pk).values_list("project_id", flat=True).first()
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if project_id is None:
        raise Http404
    return project_for(user, project_id, what, "read")
