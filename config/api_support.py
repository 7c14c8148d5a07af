"""What every app's API router shares: key authentication, the project a request is about, the
JSON error shape, pagination and reusable input types.

An app's `<app>/api.py` imports from here (never from `config.api`, which imports the routers):

    from config.api_support import ERRORS, Pagination, active_project, project_by_id

    router = Router(tags=["jobs"])

    @router.get("/jobs", response={200: list[JobOut], **ERRORS})
    @paginate(Pagination)
    def job_list(request):
        project = active_project(request, "jobs", "read")   # X-Trainshed-Project, else Personal
        return Job.objects.in_project(project)

Refusals are raised, not returned: Http404 (not visible), PermissionDenied (visible, not allowed),
django ValidationError (bad input; name the field with a dict) — `install_error_handlers` turns
them into `{"detail": "...", "field": "..."}` with 404 / 403 / 400.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.security import HttpBearer
from pydantic import AfterValidator

from accounts.api_keys import api_key_authenticate
from projects import access
from projects.mfa import refuse_if_mfa_required  # signin
from projects.models import Project

logger = logging.getLogger("trainshed.api")

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
        refuse_if_mfa_required(request.user, pid)  # signin: a member is told why (403)
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


# ---- input types, pagination ------------------------------------------------------------------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


#: A string from a client: any text but NUL (which PostgreSQL cannot store).
Text = Annotated[str, AfterValidator(_no_nul)]


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` with bounds, so no client can ask the database for an absurd slice."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=500)
        offset: int = Field(0, ge=0, le=1_000_000)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=500, **kwargs)


# ---- errors -----------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    field: str | None = None


#: Add to every operation's `response=` so the schema documents every refusal it can give.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 500: ErrorOut}


def _validation_body(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        message = " ".join(errors)
        if field == "__all__":
            return {"detail": message}
        return {"detail": f"{field}: {message}", "field": field}
    return {"detail": " ".join(exc.messages) or "Invalid input."}


def _schema_error_body(exc: NinjaValidationError) -> dict[str, Any]:
    errors = exc.errors or []
    if not errors:
        return {"detail": "Invalid input."}
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "payload")]
    field = loc[-1] if loc else None
    message = first.get("msg", "Invalid value.")
    return {"detail": f"{'.'.join(loc)}: {message}" if loc else message, "field": field}


def install_error_handlers(api) -> None:
    def respond(request, body: dict, status: int, **headers):
        response = api.create_response(request, body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def not_found(request, exc):
        return respond(request, {"detail": "Not found."}, 404)

    def forbidden(request, exc):
        detail = str(exc) or "You do not have permission to do this."
        return respond(request, {"detail": detail}, 403)

    def invalid(request, exc):
        return respond(request, _validation_body(exc), 400)

    def schema_invalid(request, exc):
        return respond(request, _schema_error_body(exc), 422)

    def unauthenticated(request, exc):
        return respond(
            request, {"detail": "Missing, invalid, revoked or expired API key."}, 401,
            **{"WWW-Authenticate": "Bearer"},
        )

    def http_error(request, exc):
        return respond(request, {"detail": str(exc)}, exc.status_code)

    def internal(request, exc):
        logger.exception("API error on %s %s", request.method, request.path)
        return respond(request, {"detail": "Internal error"}, 500)

    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(DjangoValidationError, invalid)
    api.add_exception_handler(NinjaValidationError, schema_invalid)
    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Exception, internal)
