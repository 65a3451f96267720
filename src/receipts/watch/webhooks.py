"""Signed webhook POSTs, and the check a receiver runs on them.

Every POST carries ``X-Receipts-Timestamp`` (Unix seconds) and
``X-Receipts-Signature: sha256=<hex>``, the HMAC-SHA256 with the channel's
secret of ``<timestamp>.<body>``. Signing the timestamp with the body lets a
receiver refuse a captured request replayed later: ``verify_signature`` below
is the whole check, written to be copied into a receiver.

Targets are http(s) URLs whose host resolves only to public addresses: every
POST goes through ``receipts.outbound``, which checks each address the host
resolves to and connects to a checked one (``RECEIPTS_ALLOW_PRIVATE_ADDRESSES``
also allows loopback and private networks).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
from dataclasses import dataclass

from django.conf import settings

from receipts import outbound

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

    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(body, secret, timestamp),
        DELIVERY_HEADER: delivery_id,
    }
    try:
        # A receiver's reply is not kept; a little is read to finish the exchange.
        response = outbound.request(
            "POST", url, body=body, headers=headers, timeout=float(settings.WATCH_WEBHOOK_TIMEOUT)
        )
    except outbound.Refused as exc:
        return PostResult(None, f"refused: {exc}", took())
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(None, f"{exc.__class__.__name__}: {exc}"[:1000], took())
    if not 200 <= response.status < 300:
        return PostResult(response.status, f"HTTP {response.status}", took())
    return PostResult(response.status, "", took())
