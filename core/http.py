"""Where to send a person after a POST: the page they asked for, if it is one of this site's."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, *, referer: bool = False) -> str | None:
    """The posted `next` (with `referer`, else the page the request came from) when it is a URL of
    this host and scheme, else None: never an open redirect."""
    target = request.POST.get("next") or (request.headers.get("referer") if referer else "") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
