"""Where a development server may listen. While DEBUG is on, error pages show settings and code and
the development keys are weaker, so only loopback is served unless TRAINSHED_DEBUG_ALLOW_REMOTE
says the operator means it."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings

# runserver's own address grammar: "8000", "1.2.3.4:8000", "[::]:8000", "host:8000".
_ADDR = re.compile(r"^(?:(?P<host>\[[^\]]*\]|[^:]*):)?(?P<port>\d+)$")


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name we did not resolve: it may be public


def debug_bind_refusal(addrport: str, *, ipv6: bool = False) -> str | None:
    """Why listening on `addrport` is refused now, or None."""
    if not settings.DEBUG or settings.TRAINSHED_DEBUG_ALLOW_REMOTE:
        return None
    match = _ADDR.match(addrport.strip()) if addrport else None
    if not addrport or (match and match["host"] is None):
        return None  # runserver's default: 127.0.0.1 (or ::1 with -6)
    host = match["host"] if match else addrport
    if host == "0":
        host = "0.0.0.0"  # noqa: S104 -- runserver's shorthand, named to refuse it
    if is_loopback(host):
        return None
    return (f"Refusing to serve on {host} while DEBUG is on: anyone who reaches it sees debug pages. "
            "Listen on 127.0.0.1, set DEBUG=0 for production, or set TRAINSHED_DEBUG_ALLOW_REMOTE=1 "
            "if you mean it.")
