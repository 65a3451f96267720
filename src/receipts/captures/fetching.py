"""Fetching for a capture: every request goes through the outbound guard, within one budget.

A capture has one budget of time, bytes and requests, shared by the page
and everything it loads; spending past it ends the capture with one clear
error. Each request is one HTTP exchange (redirects are separate requests,
each checked by the guard), recorded for the WARC.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field

from django.conf import settings

from receipts import outbound

# Headers a browser sends that are worth passing on; anything else (cookies of
# other sites cannot exist in a fresh context, but extensions and hints can)
# stays behind.
FORWARDED_REQUEST_HEADERS = ("user-agent", "accept", "accept-language", "referer", "cookie")
CHUNK = 64 * 1024


class CaptureError(Exception):
    """A capture that could not be made; the message says what and where."""

    def __init__(self, message: str, *, status: int | None = None, gone: bool = False) -> None:
        super().__init__(message)
        self.status = status
        # True when the answer means the link is gone (4xx/5xx, no such host).
        self.gone = gone


@dataclass
class Exchange:
    """One request and its answer, as recorded in the WARC."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    at: float

    def header(self, name: str) -> str:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return ""

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";", 1)[0].strip().lower()

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and bool(self.header("location"))


@dataclass
class Budget:
    """What one capture may still spend."""

    deadline: float = field(default_factory=lambda: time.monotonic() + settings.CAPTURE_TIMEOUT)
    bytes_left: int = field(default_factory=lambda: settings.CAPTURE_MAX_BYTES)
    requests_left: int = field(default_factory=lambda: settings.CAPTURE_MAX_REQUESTS)
    exceeded: str = ""

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def fail(self, message: str) -> CaptureError:
        self.exceeded = self.exceeded or message
        return CaptureError(message)


def fetch(
    url: str,
    budget: Budget,
    *,
    method: str = "GET",
    request_headers: dict[str, str] | None = None,
) -> Exchange:
    """One request through the guard, counted against ``budget``.

    Raises ``outbound.Refused`` for an address the guard refuses,
    ``CaptureError`` when the budget runs out, ``OSError`` or
    ``http.client.HTTPException`` when the network fails.
    """
    if budget.requests_left <= 0:
        raise budget.fail(f"the page made more than {settings.CAPTURE_MAX_REQUESTS} requests")
    budget.requests_left -= 1
    timeout = budget.remaining()
    if timeout <= 0:
        raise budget.fail(f"the capture took longer than {settings.CAPTURE_TIMEOUT:g} seconds")
    headers = {
        k: v for k, v in (request_headers or {}).items() if k.lower() in FORWARDED_REQUEST_HEADERS
    }
    # Bodies are kept as sent, so the WARC and the text read from them need no decoding.
    headers["Accept-Encoding"] = "identity"
    started = time.time()
    try:
        with outbound.stream(method, url, headers=headers, timeout=timeout) as reply:
            chunks: list[bytes] = []
            while True:
                if budget.remaining() <= 0:
                    raise budget.fail(
                        f"{url} did not finish within the capture's "
                        f"{settings.CAPTURE_TIMEOUT:g} seconds"
                    )
                chunk = reply.read1(CHUNK) if method != "HEAD" else b""
                if not chunk:
                    break
                budget.bytes_left -= len(chunk)
                if budget.bytes_left < 0:
                    raise budget.fail(
                        f"{url} sent more than the capture's limit of "
                        f"{settings.CAPTURE_MAX_BYTES} bytes"
                    )
                chunks.append(chunk)
            # Hop-by-hop and encoding headers no longer describe the body as kept.
            kept = [
                (k, v)
                for k, v in reply.getheaders()
                if k.lower() not in ("transfer-encoding", "connection", "keep-alive")
            ]
            return Exchange(
                method=method,
                url=url,
                request_headers=list(headers.items()),
                status=reply.status,
                reason=reply.reason or "",
                headers=kept,
                body=b"".join(chunks),
                at=started,
            )
    except TimeoutError as exc:
        if budget.remaining() <= 0:
            raise budget.fail(
                f"{url} did not answer within the capture's {settings.CAPTURE_TIMEOUT:g} seconds"
            ) from exc
        raise
    except http.client.IncompleteRead as exc:
        raise OSError(f"{url} closed the connection mid-answer") from exc
