import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger("trainshed")


class DatabaseUnavailableMiddleware:
    """A database that can't be reached gives a plain 503 page (or JSON for the API), never a
    traceback. Other database errors are real bugs and go on to Django's error handling."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if isinstance(exception, DatabaseError) and not _looks_like_connection_failure(exception):
            return None
        log.error("Database unavailable: %s", type(exception).__name__)
        if request.path.startswith("/api/"):
            response = HttpResponse(
                '{"detail": "The service is temporarily unavailable."}',
                content_type="application/json",
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response


def _looks_like_connection_failure(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, InterfaceError) or any(
        marker in text
        for marker in (
            "connect",
            "connection",
            "server closed",
            "terminating",
            "could not translate",
            "unable to open database",
            "database is locked",
            "no route",
            "timeout",
        )
    )
