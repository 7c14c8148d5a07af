"""Bodies refused before anything reads them, with a clear answer instead of a 500: a negative or
malformed Content-Length (400), and under /api/ a non-multipart body larger than
DATA_UPLOAD_MAX_MEMORY_SIZE (413; uploads — multipart, or a tar read as a stream — have their own,
larger limit). API answers are JSON."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse


def _refuse(request, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or ""
        if raw:
            try:
                length = int(raw)
            except ValueError:
                length = -1
            if length < 0:
                return _refuse(request, 400, "The Content-Length header is not a valid length.")
            content_type = request.META.get("CONTENT_TYPE", "")
            upload = content_type.startswith(("multipart/", "application/x-tar"))
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if request.path.startswith("/api/") and not upload and limit and length > limit:
                return _refuse(request, 413, f"The request body is {length} bytes; the limit is {limit} "
                                             "bytes (files go as multipart or tar uploads).")
        return self.get_response(request)
