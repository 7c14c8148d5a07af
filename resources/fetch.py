"""Downloading an address a person typed, without letting it reach inside our network.

A URL is someone else's choice: the host is resolved first, and every address it resolves to must
be public (not loopback, private, link-local, multicast, unspecified, reserved or a cloud's
metadata address) unless the operator named the host in TRAINSHED_FETCH_ALLOWED_HOSTS. The
connection then goes to the address that was checked (no second lookup an attacker's DNS could
answer differently), with TLS still verified against the host name (SNI) and the Host header
naming it. Redirects are followed by hand, each checked like the first (http/https only, at most
MAX_REDIRECTS). A download has a wall-clock deadline (TRAINSHED_FETCH_DEADLINE_SECONDS) besides
the per-read timeout, so a server dripping a byte at a time cannot hold a worker for ever.
"""

from __future__ import annotations

import http.client
import ipaddress
import posixpath
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings

MAX_REDIRECTS = 5
READ_TIMEOUT = 30
CHUNK = 1024 * 1024

# Addresses of cloud metadata services that `is_global` alone would not catch everywhere
# (Alibaba's sits in the shared 100.64/10 range; AWS's IPv6 one in a ULA range).
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254",
))
REFUSED = ("The address points inside this server's network (loopback, private, link-local or "
           "metadata addresses are not downloaded).")
UNREACHABLE = "Could not connect to the address."


class FetchError(Exception):
    pass


@dataclass
class Fetched:
    filename: str
    size: int


def _allowed_hosts() -> set[str]:
    return {h.strip().lower().strip("[]") for h in getattr(settings, "TRAINSHED_FETCH_ALLOWED_HOSTS", [])
            if h.strip()}


def address_refused(address: str) -> bool:
    """True for an address a download may not reach without the operator's say-so."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip in METADATA_ADDRESSES or not ip.is_global or ip.is_multicast or ip.is_unspecified
            or ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_reserved)


def _resolve(host: str, port: int) -> str:
    """The one address to connect to: every address `host` resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host name “{host}” could not be resolved.") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchError(f"The host name “{host}” could not be resolved.")
    if host.lower() not in _allowed_hosts() and any(address_refused(a) for a in addresses):
        raise FetchError(REFUSED)
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _deadline_seconds() -> float:
    return float(getattr(settings, "TRAINSHED_FETCH_DEADLINE_SECONDS", 3600))


def _filename_from(response, url: str) -> str:
    given = response.headers.get_filename()  # from Content-Disposition, if any
    if given:
        return posixpath.basename(given.replace("\\", "/")) or "download"
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    return posixpath.basename(path) or "download"


def _open(url: str, deadline: float):
    """(connection, response) for `url`, redirects followed and checked; raises FetchError."""
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("Only http:// and https:// addresses can be downloaded.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError("The address has an invalid port.") from exc
        address = _resolve(parts.hostname, port)
        timeout = max(0.1, min(READ_TIMEOUT, deadline - time.monotonic()))
        cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        connection = cls(parts.hostname, port, address=address, timeout=timeout)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request("GET", target,
                               headers={"User-Agent": "Trainshed", "Accept-Encoding": "identity"})
            response = connection.getresponse()
        except ssl.SSLError as exc:
            connection.close()
            raise FetchError(f"The secure connection failed: {exc.reason or exc}.") from exc
        except (OSError, http.client.HTTPException) as exc:
            # Refused, silent and reset ports read the same: a download is no port scanner.
            connection.close()
            raise FetchError(UNREACHABLE) from exc
        if response.status in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            connection.close()
            if not location:
                raise FetchError(f"The server answered {response.status} without a Location.")
            url = urllib.parse.urljoin(url, location)
            continue
        if response.status >= 400:
            connection.close()
            raise FetchError(f"The server answered {response.status} {response.reason}.")
        return connection, response, url
    raise FetchError(f"The address redirected more than {MAX_REDIRECTS} times.")


def download(url: str, into, *, max_bytes: int, too_big: str) -> Fetched:
    """Stream `url` into the file `into`; FetchError(`too_big`) past `max_bytes`."""
    deadline = time.monotonic() + _deadline_seconds()
    late = f"The download took longer than the limit of {int(_deadline_seconds())} seconds."
    connection, response, final_url = _open(url, deadline)
    total = 0
    try:
        filename = _filename_from(response, final_url)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchError(late)
            if connection.sock is not None:
                connection.sock.settimeout(max(0.05, min(READ_TIMEOUT, left)))
            try:
                data = response.read1(CHUNK)  # returns what one receive brings: deadline checked often
            except TimeoutError as exc:
                raise FetchError(late if deadline - time.monotonic() <= 0.1 else
                                 "The server stopped sending.") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(f"The download failed: {exc}.") from exc
            if not data:
                break
            total += len(data)
            if total > max_bytes:
                raise FetchError(too_big)
            into.write(data)
    finally:
        connection.close()
    if total == 0:
        raise FetchError("The address returned an empty file.")
    return Fetched(filename=filename, size=total)
