"""The declared table of who may reach which URL: the access matrix test compares every URL
pattern of our apps with it, so a new URL without an entry fails the suite.

Each app keeps its rows in `tests/access/routes_<app>.py` as `ROUTES = {"ns:name": Route(...)}`;
`ALL_ROUTES` merges them. Outcomes:
- "ok": allowed (any status below 400 that is not a redirect to the login page)
- 403 / 404 / 405: refused with that status
- "login": redirect to the login page (every anonymous request, unless a route says otherwise)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("owner", "member_all", "member_read", "member_none", "outsider", "anonymous")
SIGNED_IN = ROLES[:-1]

Outcome = str | int


def expect(
    owner: Outcome, member_all: Outcome, member_read: Outcome, member_none: Outcome,
    outsider: Outcome, anonymous: Outcome = "login",
) -> dict[str, Outcome]:
    return dict(zip(ROLES, (owner, member_all, member_read, member_none, outsider, anonymous),
                    strict=True))


#: Any signed-in person may (the view works on their own things only).
ANY_SIGNED_IN = expect("ok", "ok", "ok", "ok", "ok")
#: Every member and the owner may; others do not see the project at all.
PROJECT_VISIBLE = expect("ok", "ok", "ok", "ok", 404)
#: Owner administration: members see the project but may not act; outsiders don't see it.
OWNER_ADMIN = expect("ok", 403, 403, 403, 404)
#: Owner only, and invisible to everyone else (keys, secrets, billing of the owner).
OWNER_ONLY_HIDDEN = expect("ok", 404, 404, 404, 404)
#: Reading a resource type: read or all members; "none" members and outsiders get 404.
TYPE_READ = expect("ok", "ok", "ok", 404, 404)
#: Changing a resource type: only "all" members; read members see it but get 403.
TYPE_MANAGE = expect("ok", "ok", 403, 404, 404)
#: Not this method.
NOT_ALLOWED = expect(405, 405, 405, 405, 405)  # anonymous: login first


@dataclass
class Route:
    """How to reach one URL pattern in the test world, and what each role gets."""

    kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda w: {})
    get: dict[str, Outcome] = field(default_factory=lambda: NOT_ALLOWED)
    post: dict[str, Outcome] = field(default_factory=lambda: NOT_ALLOWED)
    data: Callable[[Any], dict[str, Any]] = field(default=lambda w: {})
    # The role the request is made as may differ in whose Personal project / active project is
    # used; `as_active` makes the world's project the session's active project first.
    as_active: bool = False


ROUTE_MODULES = ["projects", "accounts", "resources", "jobs", "compute", "billing", "api", "keys"]


def all_routes() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for app in ROUTE_MODULES:
        try:
            module = importlib.import_module(f"tests.access.routes_{app}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.access.routes_{app}":
                raise
            continue
        overlap = routes.keys() & module.ROUTES.keys()
        assert not overlap, f"declared twice: {overlap}"
        routes.update(module.ROUTES)
    return routes


# ---- the test world: one project, one person per role, resources built on demand ----------

BUILDERS: dict[str, Callable[[Any], Any]] = {}


def builder(name: str):
    """Register how to build `world.<name>` (a resource inside `world.project`)."""

    def register(fn):
        BUILDERS[name] = fn
        return fn

    return register


class World:
    def __init__(self, *, project, people: dict[str, Any], other_project):
        self.project = project
        self.people = people
        self.other_project = other_project  # owned by the outsider: for "another project" checks
        self._built: dict[str, Any] = {}

    def reset(self) -> None:
        self._built = {}

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in BUILDERS:
            raise AttributeError(name)
        if name not in self._built:
            self._built[name] = BUILDERS[name](self)
        return self._built[name]
