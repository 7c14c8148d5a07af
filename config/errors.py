"""The app's own 403 and 404 pages (header, a sentence, a way back), in every mode.

With DEBUG off Django calls `handler403`/`handler404` (config/urls.py). With DEBUG on it shows its
technical 404 page instead, which is no page to hand a colleague's link to: `AppNotFoundMiddleware`
answers with the same page there. 403 needs nothing more: Django has no technical 403 page."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", status=403)


def _ours(request: HttpRequest) -> bool:
    # The API answers JSON 404s of its own (config/api.py).
    return settings.DEBUG and not request.path.startswith("/api/")


class AppNotFoundMiddleware:
    """With DEBUG on: a 404 raised by a view, or a URL that matches nothing, gets the app's page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No resolver match: the URL matched no pattern (Django answered its technical 404 page).
        unmatched = getattr(request, "resolver_match", None) is None
        if response.status_code == 404 and unmatched and _ours(request):
            return not_found(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404) and _ours(request):
            return not_found(request, exception)
        return None
