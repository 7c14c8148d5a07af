"""Access rows for the API Keys pages and for the REST API.

Two tables:
- `ROUTES` (read by the web matrix, tests/projects/test_access_matrix.py): the API Keys pages, and every
  URL name in the ninja namespace generated from the URL resolver. The web matrix signs in with a
  session, and a session must never work on the API (it is not CSRF-protected: keys only), so every
  API operation answers 401 there; a method the path does not have answers 405.
- `API_ROUTES` (read by the API matrix, tests/api/test_api_matrix.py): one row per API operation,
  keyed "METHOD /path" as in the OpenAPI schema, with the outcome for every API role. The API
  matrix fails when an operation in the schema has no row, so a new router brings its rows here
  (or in its own `tests/access/api_<app>.py`, merged below).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.access.spec import ANY_SIGNED_IN, OWNER_ONLY_HIDDEN, Route, builder, expect

# ---- the API Keys pages (web matrix) ------------------------------------------------------------


@builder("api_key")
def _api_key(world):
    from accounts.api_keys import api_key_create

    key, _raw = api_key_create(user=world.people["owner"], name="Matrix key")
    return key


ROUTES: dict[str, Route] = {
    "accounts:api-keys": Route(get=ANY_SIGNED_IN, post=ANY_SIGNED_IN, data=lambda w: {"name": "CLI"}),
    "accounts:api-key-revoke": Route(
        kwargs=lambda w: {"key_id": w.api_key.pk}, post=OWNER_ONLY_HIDDEN
    ),
    "accounts:api-keys-revoke-all": Route(post=ANY_SIGNED_IN),  # one's own keys only
}


# ---- every ninja URL name (web matrix): a session is not an API key ------------------------------

API_NAMESPACE = "api-1.0.0"
PUBLIC_API_NAMES = {"openapi-json", "openapi-view"}  # declared PUBLIC in the web matrix


def _api_patterns():
    from django.urls import get_resolver

    for resolver in get_resolver().url_patterns:
        if getattr(resolver, "namespace", None) == API_NAMESPACE:
            return resolver.url_patterns
    return []


def _api_kwargs(converters: dict) -> Callable[[Any], dict[str, Any]]:
    def kwargs(world):
        # A session is refused (401) before any lookup, so ids need not exist.
        values = {"project_id": world.project.pk, "email": "member_read@example.com",
                  "kind": "aws", "name": "WANDB_API_KEY", "resource_id": world.project.pk,
                  "file_path": "data.csv", "job_id": world.project.pk, "input_id": world.project.pk}
        return {name: values[name] for name in converters}

    return kwargs


def _web_rows() -> dict[str, Route]:
    import re

    from config.api import api

    patterns = list(_api_patterns())
    schema_paths = api.get_openapi_schema(path_prefix="")["paths"]
    methods_by_route = {path.lstrip("/"): {m.upper() for m in ops} for path, ops in schema_paths.items()}
    rows = {}
    session_refused = expect(401, 401, 401, 401, 401, 401)
    not_allowed = expect(405, 405, 405, 405, 405, 405)
    for p in patterns:
        if not p.name or p.name in PUBLIC_API_NAMES:
            continue
        name = f"{API_NAMESPACE}:{p.name}"
        if p.name == "api-root":  # ninja's root: no operation, answers 404
            rows[name] = Route(get=expect(404, 404, 404, 404, 404, 404),
                               post=expect(404, 404, 404, 404, 404, 404))
            continue
        methods = methods_by_route[re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))]
        rows[name] = Route(
            kwargs=_api_kwargs(p.pattern.converters),
            get=session_refused if "GET" in methods else not_allowed,
            post=session_refused if "POST" in methods else not_allowed,
        )
    return rows


ROUTES.update(_web_rows())


# ---- the API matrix table -----------------------------------------------------------------------

API_ROLES = (
    "owner", "member_all", "member_read", "member_none", "outsider",
    "no_key", "revoked_key", "expired_key", "read_only_key", "key_for_other_project",
)


def api_expect(owner, member_all, member_read, member_none, outsider, *, read_only, other_project):
    people = dict(zip(API_ROLES[:5], (owner, member_all, member_read, member_none, outsider),
                      strict=True))
    return people | {"no_key": 401, "revoked_key": 401, "expired_key": 401,
                     "read_only_key": read_only, "key_for_other_project": other_project}


#: Reading something of the world's project: any member; not visible to an outsider or a key
#: limited to another project.
API_PROJECT_VISIBLE = api_expect(200, 200, 200, 200, 404, read_only=200, other_project=404)
#: Owner administration, as on the web; a read-only key is refused before anything is looked up.
API_OWNER_ADMIN = api_expect("ok", 403, 403, 403, 404, read_only=403, other_project=404)


@dataclass
class ApiRoute:
    """How to call one API operation in the test world and what each role gets ("ok" = 2xx)."""

    expected: dict[str, Any]
    path_kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda w: {"project_id": w.project.pk})
    body: dict[str, Any] | None = None
    #: A multipart POST instead of JSON: () -> form fields and files (built per request).
    multipart: Callable[[], dict[str, Any]] | None = None
    #: A raw body instead of JSON: () -> (query string, body bytes, its content type).
    raw: Callable[[], tuple[str, bytes, str]] | None = None
    #: What a successful answer is (errors are always JSON).
    content_type: str = "application/json"


API_ROUTES: dict[str, ApiRoute] = {
    # The matrix sends X-Trainshed-Project: <the world's project> on every request.
    "GET /me": ApiRoute(expected=API_PROJECT_VISIBLE),
    "GET /projects": ApiRoute(expected=api_expect(200, 200, 200, 200, 200, read_only=200,
                                                  other_project=200)),
    "POST /projects": ApiRoute(
        expected=api_expect(201, 201, 201, 201, 201, read_only=403, other_project=403),
        body={"name": "Made by the matrix"},
    ),
    "GET /projects/{project_id}": ApiRoute(expected=API_PROJECT_VISIBLE),
    "PATCH /projects/{project_id}": ApiRoute(expected=API_OWNER_ADMIN, body={"name": "Renamed"}),
    "DELETE /projects/{project_id}": ApiRoute(expected=API_OWNER_ADMIN),
    "POST /projects/{project_id}/leave": ApiRoute(
        # The owner cannot leave (400, with the reason); every member may.
        expected=api_expect(400, 204, 204, 204, 404, read_only=403, other_project=404),
    ),
    "GET /projects/{project_id}/members": ApiRoute(expected=API_PROJECT_VISIBLE),
    "PUT /projects/{project_id}/members/{email}": ApiRoute(
        expected=API_OWNER_ADMIN,
        path_kwargs=lambda w: {"project_id": w.project.pk, "email": "member_none@example.com"},
        body={"jobs": "read"},
    ),
    "DELETE /projects/{project_id}/members/{email}": ApiRoute(
        expected=API_OWNER_ADMIN,
        path_kwargs=lambda w: {"project_id": w.project.pk, "email": "member_read@example.com"},
    ),
}

# Other apps keep their API rows in tests/access/api_<app>.py as `API_ROUTES = {...}`.
for _app in ("keys", "resources", "jobs", "compute", "billing", "node"):
    try:
        _module = importlib.import_module(f"tests.access.api_{_app}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"tests.access.api_{_app}":
            raise
        continue
    assert not (API_ROUTES.keys() & _module.API_ROUTES.keys()), "API rows declared twice"
    API_ROUTES.update(_module.API_ROUTES)
