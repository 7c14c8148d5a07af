"""Who an API request is from (its API key) and which project it is about.

Every app's router uses these with `core.api`'s errors and pagination; `config.api` installs
`ApiKeyAuth` on the whole API.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja.security import HttpBearer

from accounts.api_keys import api_key_authenticate
from projects import access
from projects.mfa import refuse_if_mfa_required
from projects.models import Project

PROJECT_HEADER = "X-Trainshed-Project"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


# ---- authentication -------------------------------------------------------------------------


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer ts_…`. A missing, unknown, revoked or expired key answers 401; a
    read-only key answers 403 to every write, before anything else is looked at."""

    openapi_description = "An API key from Account settings → API keys."

    def authenticate(self, request: HttpRequest, token: str):
        key = api_key_authenticate(raw=token)
        if key is None:
            return None
        request.user = key.user
        request.api_key = key
        if key.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("This API key is read-only.")
        return key


# ---- the project a request is about ---------------------------------------------------------


def _as_uuid(value) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, TypeError, AttributeError) as exc:
        raise Http404 from exc


def project_by_id(request: HttpRequest, project_id, what: access.What = "project",
                  level: access.Level = "read") -> Project:
    """The project with this id, if the key's account may (`access.require`) and the key is not
    limited to another project: both refusals look like a missing id (404)."""
    pid = _as_uuid(project_id)
    key = request.auth
    if key.project_id is not None and key.project_id != pid:
        raise Http404
    try:
        return access.project_for(request.user, pid, what, level)
    except Http404:
        refuse_if_mfa_required(request.user, pid)  # a member is told why (403), not 404
        raise


def active_project(request: HttpRequest, what: access.What = "project",
                   level: access.Level = "read") -> Project:
    """The project named by the `X-Trainshed-Project` header; without it the key's project when
    the key is limited to one, else the account's Personal project."""
    raw = request.headers.get(PROJECT_HEADER, "").strip()
    if raw:
        return project_by_id(request, raw, what, level)
    key = request.auth
    if key.project_id is not None:
        return project_by_id(request, key.project_id, what, level)
    project = access.viewable_project(request.user)  # the Personal project, the permissions with it
    if project is None:
        raise Http404
    access.require(request.user, project, what, level)
    return project


def refuse_restricted_key(request: HttpRequest) -> None:
    """For actions outside any one project (e.g. creating a project)."""
    if request.auth.project_id is not None:
        raise PermissionDenied("This API key is limited to one project.")
