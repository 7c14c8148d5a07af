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
        return Job.objects.in_project(project).order_by("-created_at")

A list returns an ordered queryset (paged by keyset: `{"items": [...], "next": "<cursor>"}`), a
`core.paging.Chain` of them, or a short Python list (paged by position). A long list whose items
are a `RowSchema` may shape its page into dicts in `prepare` (see `Pagination`).

Refusals are raised, not returned: Http404 (not visible), PermissionDenied (visible, not allowed),
django ValidationError (bad input; name the field with a dict) — `install_error_handlers` turns
them into `{"detail": "...", "field": "..."}` with 404 / 403 / 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PaginationBase
from pydantic import AfterValidator, ModelWrapValidatorHandler, ValidationInfo, model_validator

from core import paging
from core.forms import error_text

logger = logging.getLogger("trainshed.api")


# ---- input types, pagination ------------------------------------------------------------------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


#: A string from a client: any text but NUL (which PostgreSQL cannot store).
Text = Annotated[str, AfterValidator(_no_nul)]


class RowSchema(Schema):
    """A response shape that also takes a dict of its final values, validated whole by pydantic's
    core: ninja's per-field getter and resolvers cost ~25 µs an item, most of a 100-item page.
    An object (a detail answer) still goes through the resolvers, as with any Schema."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler,
                            info: ValidationInfo) -> Any:
        if isinstance(values, dict):
            return handler(values)
        return super()._run_root_validator(values, handler, info)


CURSOR_SALT = "trainshed.api.cursor"
BAD_CURSOR = "Not a cursor of this list: pass the `next` of its previous page unchanged."


class Pagination(PaginationBase):
    """Keyset paging without `COUNT(*)`: each answer is `{"items": [...], "next": "<cursor>"}`, and
    `?cursor=<next>` continues after the last item (`next` is null on the last page). The cursor
    is the list's sort key of that item, signed, so no client can forge a position or bring one
    from another list. `?limit=&offset=` stay accepted (an offset skips that many items after the
    cursor, or from the start), with bounds, so no client can ask for an absurd slice.

    `prepare(request, items)` runs on the page's items before they are shaped (e.g. to read the
    access rules of a page of projects in one query instead of one per project). When it returns
    a list, that list is the page's items: dicts of a `RowSchema`'s fields, shaped in one pass."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=500, description="How many items, at most (1–500).")
        offset: int = Field(0, ge=0, le=1_000_000,
                            description="Skip this many items first (kept for compatibility: "
                                        "follow `next` instead, which costs the same on every page).")
        cursor: str | None = Field(None, description="The `next` of the previous page: the page "
                                                     "after it.")

    class Output(Schema):
        items: list[Any]
        next: str | None = Field(description="Pass as `?cursor=` for the next page; null on the last.")

    def __init__(self, *, prepare: Callable | None = None, **kwargs: Any) -> None:
        self.prepare = prepare
        super().__init__(**kwargs)

    def paginate_queryset(self, queryset, pagination: Input, request, **params: Any) -> Any:
        if isinstance(queryset, QuerySet | paging.Chain):
            items, following = self._keyset(queryset, pagination, request)
        else:  # a short list, computed whole: paged by position
            start = self._decode(pagination.cursor, request, "list") + pagination.offset
            items, more = paging.read_slice(queryset, start, pagination.limit)
            following = self._encode(request, "list", start + len(items)) if more else None
        if self.prepare is not None:
            shaped = self.prepare(request, items)
            if shaped is not None:
                items = shaped
        return {"items": items, "next": following}

    def _keyset(self, rows, pagination: Input, request) -> tuple[list, str | None]:
        parts = rows.parts if isinstance(rows, paging.Chain) else (rows,)
        order = "|".join(",".join(paging.ordering(part)) for part in parts)
        saved = self._decode(pagination.cursor, request, order)
        after = paging.Position(saved[0], tuple(saved[1])) if saved is not None else None
        try:
            page = paging.keyset_page(rows, after=after, size=pagination.limit, offset=pagination.offset)
        except ValueError as exc:
            raise DjangoValidationError({"cursor": BAD_CURSOR}) from exc
        if page.next is None:
            return page.items, None
        key = [paging.plain(value) for value in page.next.key]
        return page.items, self._encode(request, order, [page.next.part, key])

    @staticmethod
    def _encode(request, order: str, where) -> str:
        return signing.dumps({"l": f"{request.path} {order}", "w": where}, salt=CURSOR_SALT, compress=True)

    @staticmethod
    def _decode(cursor: str | None, request, order: str):
        """The position a cursor holds (None or 0 without one); a 400 naming `cursor` for anything
        else, and for a cursor of another list or order."""
        if not cursor:
            return 0 if order == "list" else None
        try:
            saved = signing.loads(cursor, salt=CURSOR_SALT)
        except signing.BadSignature as exc:
            raise DjangoValidationError({"cursor": BAD_CURSOR}) from exc
        if not isinstance(saved, dict) or saved.get("l") != f"{request.path} {order}":
            raise DjangoValidationError({"cursor": BAD_CURSOR})
        return saved["w"]


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
