"""Signed webhook POSTs, and the check a receiver runs on them.

Every POST carries ``X-Receipts-Timestamp`` (Unix seconds) and
``X-Receipts-Signature: sha256=<hex>``, the HMAC-SHA256 with the channel's
secret of ``<timestamp>.<body>``. Signing the timestamp with the body lets a
receiver refuse a captured request replayed later: ``verify_signature`` below
is the whole check, written to be copied into a receiver.

Targets are http(s) URLs whose host resolves only to public addresses: a
webhook must not become a way to reach the machine's own services or its
network. ``RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS`` (on when ``RECEIPTS_DEBUG``
is) also allows loopback and private ranges, for a receiver on the same
laptop or network; link-local (cloud metadata), multicast and unspecified
addresses are never allowed. The address checked is the one connected to, so
a name that resolves differently a second time cannot slip past the check,
and redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "X-Receipts-Signature"
TIMESTAMP_HEADER = "X-Receipts-Timestamp"
DELIVERY_HEADER = "X-Receipts-Delivery"
USER_AGENT = "Receipts-Webhook/1"


def sign(body: bytes, secret: str, timestamp: str) -> str:
    """The signature header's value for this body, sent at this timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    body: bytes,
    signature: str,
    secret: str,
    timestamp: str,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``signature`` (the X-Receipts-Signature header) signs this exact body
    with ``secret`` at ``timestamp`` (the X-Receipts-Timestamp header), and that
    timestamp is within ``tolerance_seconds`` of now.

    A receiver needs only the standard library to check a delivery::

        ok = verify_signature(raw_body, headers["X-Receipts-Signature"], SECRET,
                              headers["X-Receipts-Timestamp"])

    Check the raw bytes as received, before parsing the JSON. The comparison
    takes constant time.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    expected = sign(body, secret, str(sent_at))
    return hmac.compare_digest(expected.encode(), str(signature or "").strip().encode())


class TargetRefused(ValueError):
    """A webhook URL that may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_global:
        return True
    if settings.WATCH_ALLOW_PRIVATE_WEBHOOKS:
        return ip.is_loopback or ip.is_private
    return False


def check_target(url: str) -> Target:
    """Parse and resolve a webhook URL; refuse it unless every address it has may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(f"{url!r} is not an http or https URL")
    if not parts.hostname:
        raise TargetRefused(f"{url!r} has no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials do not belong in the URL; the signature authenticates")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"{url!r} has a bad port") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"{parts.hostname} does not resolve ({exc})") from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not _address_allowed(ip):
            hint = (
                ""
                if settings.WATCH_ALLOW_PRIVATE_WEBHOOKS or ip.is_link_local
                else "; RECEIPTS_WATCH_ALLOW_PRIVATE_WEBHOOKS=1 allows loopback and private ones"
            )
            raise TargetRefused(f"{parts.hostname} resolves to {ip}, a non-public address{hint}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS checked against the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, secret: str, *, delivery_id: str) -> PostResult:
    """POST a signed body; never raises for a network or HTTP failure, it reports it."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = check_target(url)
    except TargetRefused as exc:
        return PostResult(None, f"refused: {exc}", took())
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(body, secret, timestamp),
        DELIVERY_HEADER: delivery_id,
    }
    timeout = float(settings.WATCH_WEBHOOK_TIMEOUT)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(target.host, target.port, address=target.address, timeout=timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(64 * 1024)  # a receiver's reply is not kept; read a little to finish
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(None, f"{exc.__class__.__name__}: {exc}"[:1000], took())
    finally:
        conn.close()
    if not 200 <= status < 300:
        return PostResult(status, f"HTTP {status}", took())
    return PostResult(status, "", took())
