"""What every app's API router shares: the JSON error shape, pagination and input types.

An app's `<app>/api.py` imports these beside the key authentication and project lookup of
`projects.api_auth` (never from `config.api`, which imports the routers):

    from core.api import ERRORS, Pagination
    from projects.api_auth import active_project

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
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator

from core.forms import error_text

logger = logging.getLogger("trainshed.api")


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
    return {"detail": error_text(exc) or "Invalid input."}


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
