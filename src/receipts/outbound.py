"""The one way the server sends a request to another host: resolve, check every address, connect to a checked one.

A URL someone typed (a webhook today) must not become a way to reach the
machine's own services, its network or the cloud's metadata service. So the
host name is resolved once, every address it resolves to is checked, and the
connection goes to one of those checked addresses, never to a second
resolution, which a name that answers differently each time could use to slip
past the check (DNS rebinding). Redirects are not followed.

An address passes only when it is publicly routable, judged from IANA's
special-purpose address registries written out below, not from the
``ipaddress`` module's flags (which differ between Python versions). IPv6
forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are
judged by the IPv4 address they carry as well. ``ALLOW_PRIVATE_ADDRESSES``
(``RECEIPTS_ALLOW_PRIVATE_ADDRESSES``) also lets through loopback and
private networks, for a receiver on the same machine or intranet;
link-local addresses (169.254.169.254 is the cloud metadata service),
multicast, unspecified, documentation and reserved ranges are refused
whatever it says.

Connections to services the operator names in the configuration (the
database, the mail relay of ``RECEIPTS_EMAIL_HOST``) are not requests of this
kind: they are often on loopback or the intranet by design, and no visitor
chooses them.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

# Ranges that are never called, whatever the setting, with the reason shown.
_NEVER_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("169.254.0.0/16", "a link-local address (the cloud metadata service lives there)"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved 6to4 relay address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
# Ranges called only with ALLOW_PRIVATE_ADDRESSES.
_PRIVATE_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    )
)
_NEVER_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("fd00:ec2::254/128", "the cloud metadata service's IPv6 address"),
        ("::ffff:0:0:0/96", "an IPv4-translated address"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "an IETF protocol address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_PRIVATE_V6: tuple[tuple[IPv6Network, str], ...] = (
    (IPv6Network("::1/128"), "a loopback address"),
    (IPv6Network("fc00::/7"), "a unique-local (private) address"),
)
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")

PRIVATE_HINT = "RECEIPTS_ALLOW_PRIVATE_ADDRESSES=1 allows loopback and private ones"

IPAddress = IPv4Address | IPv6Address


class Refused(ValueError):
    """A URL the server may not call; the message says why."""


def _v4(value: int) -> IPv4Address:
    return IPv4Address(value & 0xFFFFFFFF)


def _nat64_local_candidates(ip: IPv6Address) -> list[IPv4Address]:
    """Where RFC 6052 puts the IPv4 address under a /48, /56, /64 or /96 prefix.

    The prefix length a local NAT64 uses is not visible in the address, so
    every position is read and every result must pass.
    """
    n = int(ip)
    octets = n.to_bytes(16, "big")
    return [
        IPv4Address(octets[6:8] + octets[9:11]),  # /48: bits 48-63, then 72-87 past the u octet
        IPv4Address(octets[7:8] + octets[9:12]),  # /56
        IPv4Address(octets[9:13]),  # /64
        _v4(n),  # /96
    ]


def embedded_ipv4(ip: IPv6Address) -> list[tuple[IPv4Address, str]]:
    """The IPv4 addresses an IPv6 address carries, each with the form that carries it."""
    n = int(ip)
    if ip.ipv4_mapped is not None:
        return [(ip.ipv4_mapped, "IPv4-mapped")]
    if ip in _IPV4_COMPATIBLE and n > 1:
        return [(_v4(n), "IPv4-compatible")]
    if ip in _NAT64:
        return [(_v4(n), "NAT64")]
    if ip in _NAT64_LOCAL:
        return [(v4, "local NAT64") for v4 in _nat64_local_candidates(ip)]
    if ip in _SIX_TO_FOUR:
        return [(_v4(n >> 80), "6to4")]
    if ip in _TEREDO:
        # The server sits in bits 32-63, the client in the last 32 bits, inverted.
        return [(_v4(n >> 64), "Teredo server"), (_v4(~n), "Teredo client")]
    return []


def _v4_refusal(ip: IPv4Address, allow_private: bool) -> str | None:
    for net, why in _NEVER_V4:
        if ip in net:
            return why
    for net, why in _PRIVATE_V4:
        if ip in net:
            return None if allow_private else why
    return None


def address_refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why the server may not connect to ``ip`` (None when it may)."""
    if isinstance(ip, IPv4Address):
        return _v4_refusal(ip, allow_private)
    carried = embedded_ipv4(ip)
    for v4, form in carried:
        why = _v4_refusal(v4, allow_private)
        if why is not None:
            return f"{form} for {v4}, {why}"
    if ip.ipv4_mapped is not None:
        return None  # a mapped address is its IPv4 address, judged above
    if ip in _IPV4_COMPATIBLE:
        if int(ip) == 0:
            return "the unspecified address"
        if int(ip) > 1:
            return f"an IPv4-compatible address for {carried[0][0]} (deprecated, never routed)"
    if ip in _NAT64_LOCAL:
        return None if allow_private else "a local-use NAT64 address"
    if ip in _NAT64:
        return None  # the public IPv4 address it carries passed above
    for net, why in _NEVER_V6:
        if ip in net and not (ip in _TEREDO and carried):
            return why
    for net, why in _PRIVATE_V6:
        if ip in net:
            return None if allow_private else why
    if ip not in _GLOBAL_UNICAST:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class Destination:
    """A checked URL: where to send the request, and the addresses it may connect to."""

    scheme: str
    host: str
    port: int
    path: str
    # (address family, socket address) as getaddrinfo gave them, in its order.
    addresses: tuple[tuple[int, tuple[Any, ...]], ...]


def _literal_host(host: str) -> IPAddress | None:
    try:
        return ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str) -> Destination:
    """Parse and resolve an http(s) URL; refuse it unless every address it has may be called."""
    allow_private = bool(settings.ALLOW_PRIVATE_ADDRESSES)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"{url!r} is not an http or https URL")
    if not parts.hostname:
        raise Refused(f"{url!r} has no host")
    if parts.username or parts.password:
        raise Refused("credentials do not belong in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"{url!r} has a bad port") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{parts.hostname} does not resolve ({exc})") from exc
    if not infos:
        raise Refused(f"{parts.hostname} does not resolve")
    for info in infos:
        ip = ip_address(str(info[4][0]).split("%", 1)[0])
        why = address_refusal(ip, allow_private=allow_private)
        if why is not None:
            hint = ""
            if not allow_private and address_refusal(ip, allow_private=True) is None:
                hint = f"; {PRIVATE_HINT}"
            shown = parts.hostname
            literal = _literal_host(shown)
            if literal is None or literal != ip:
                shown = f"{shown} resolves to {ip}, which is"
            else:
                shown = f"{shown} is"
            raise Refused(f"{shown} {why}: not a public address{hint}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    addresses = tuple((info[0], info[4]) for info in infos)
    return Destination(parts.scheme, parts.hostname, port, path, addresses)


def _connect(destination: Destination, timeout: float) -> socket.socket:
    """A socket connected to the first checked address that answers."""
    error: OSError | None = None
    for family, sockaddr in destination.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"no address to connect to for {destination.host}")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked addresses, whatever the name resolves to now."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._destination = destination
        self._connect_timeout = timeout

    def connect(self) -> None:
        self.sock = _connect(self._destination, self._connect_timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS checked against the URL's host name."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(
            destination.host,
            destination.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
        self._destination = destination
        self._connect_timeout = timeout

    def connect(self) -> None:
        sock = _connect(self._destination, self._connect_timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    max_response_bytes: int = 64 * 1024,
) -> Response:
    """Send one request through the check above; the reply's body is cut at ``max_response_bytes``.

    Raises ``Refused`` for a URL that may not be called, ``OSError`` or
    ``http.client.HTTPException`` for a network or protocol failure.
    """
    destination = check_url(url)
    connection_class = (
        _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    )
    conn = connection_class(destination, timeout)
    try:
        conn.request(method, destination.path, body=body, headers=dict(headers or {}))
        reply = conn.getresponse()
        return Response(reply.status, reply.read(max_response_bytes))
    finally:
        conn.close()


@contextmanager
def open_response(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Iterator[http.client.HTTPResponse]:
    """Send one request through the check above and hand over the reply unread, for streaming.

    The caller reads the body in chunks and enforces its own limits; the
    connection closes when the block ends. Raises as ``request`` does.
    """
    destination = check_url(url)
    connection_class = (
        _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    )
    conn = connection_class(destination, timeout)
    try:
        conn.request(method, destination.path, headers=dict(headers or {}))
        yield conn.getresponse()
    finally:
        conn.close()
