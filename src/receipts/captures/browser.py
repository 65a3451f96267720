"""Loading a link in headless Chromium, with every request it makes routed through the guard.

The browser never reaches the network itself: its host resolver answers
nothing and its proxy leads nowhere, and every request of the page is
intercepted, fetched here through ``receipts.outbound`` (so each address is
checked, redirects included) within the capture's budget, recorded for the
WARC and handed back to the browser. Each capture gets a fresh browser
context: no cookies, storage or service workers shared with anything else;
websockets are closed and only GET and HEAD requests are made.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import socket
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, WebSocketRoute, sync_playwright

from receipts import outbound
from receipts.evidence.services import EvidenceError, sniff_media_type

from . import reading
from .fetching import Budget, CaptureError, Exchange, fetch

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Files kept as they come, without a browser.
FILE_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/csv",
    "text/plain",
)
# A full-page screenshot of a page that grows forever stops here.
MAX_SCREENSHOT_HEIGHT = 20_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--dns-prefetch-disable",
    # Nothing the page asks for leaves the browser unrouted: no name resolves and
    # every connection (loopback too) would go to a proxy that is not there.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    # WebRTC would send UDP around both; only proxied UDP is allowed, and there is no proxy.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
DROPPED_RESPONSE_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "connection")


@dataclass
class CaptureResult:
    """Everything one capture read, in memory, before anything is stored."""

    requested_url: str
    final_url: str
    status: int
    media_type: str
    captured_at: dt.datetime
    exchanges: list[Exchange]
    kind: str  # "page" or "file"
    text: str = ""
    facts: reading.PageFacts = field(default_factory=reading.PageFacts)
    screenshot: bytes = b""
    pdf: bytes = b""
    original: bytes = b""
    refused: list[dict[str, str]] = field(default_factory=list)


def _describe_network_error(url: str, exc: BaseException) -> str:
    return f"{url} could not be fetched ({exc.__class__.__name__}: {exc})"


def fetch_document(url: str, budget: Budget) -> list[Exchange]:
    """The chain of answers for ``url``: each redirect hop fetched and checked on its own."""
    chain: list[Exchange] = []
    current = url
    for _ in range(settings.CAPTURE_MAX_REDIRECTS + 1):
        try:
            exchange = fetch(current, budget)
        except outbound.Refused as exc:
            where = "" if current == url else f" (redirected from {url})"
            if isinstance(exc.__cause__, socket.gaierror):
                # A name that no longer resolves: the link is gone, not refused.
                raise CaptureError(f"{current}{where}: {exc}", gone=True) from exc
            raise CaptureError(f"{current}{where} is refused: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise CaptureError(_describe_network_error(current, exc), gone=True) from exc
        chain.append(exchange)
        if not exchange.is_redirect:
            return chain
        current = urljoin(current, exchange.header("location"))
    raise CaptureError(
        f"{url} redirects more than {settings.CAPTURE_MAX_REDIRECTS} times", gone=True
    )


class _Router:
    """Answers the browser's requests by fetching them through the guard."""

    def __init__(self, budget: Budget, prefetched: list[Exchange]) -> None:
        self.budget = budget
        self.exchanges: list[Exchange] = list(prefetched)
        self.ready = {prefetched[-1].url: prefetched[-1]}
        self.refused: list[dict[str, str]] = []

    def on_route(self, route: Route) -> None:
        request = route.request
        url = request.url
        if self.budget.exceeded:
            route.abort("blockedbyclient")
            return
        if url in self.ready:
            self._fulfil(route, self.ready.pop(url))
            return
        if request.method not in ("GET", "HEAD") or urlsplit(url).scheme not in ("http", "https"):
            if urlsplit(url).scheme in ("http", "https"):
                self.refused.append(
                    {"url": url, "reason": f"{request.method} requests are not made"}
                )
            route.abort("blockedbyclient")
            return
        current = url
        try:
            # Subresource redirects are followed here (Chromium does not route the hops of a
            # redirect it was handed), each hop checked and recorded.
            for _ in range(settings.CAPTURE_MAX_REDIRECTS + 1):
                exchange = fetch(
                    current, self.budget, method=request.method, request_headers=request.headers
                )
                self.exchanges.append(exchange)
                if not exchange.is_redirect:
                    break
                current = urljoin(current, exchange.header("location"))
            else:
                self.refused.append({"url": url, "reason": "too many redirects"})
                route.abort("blockedbyclient")
                return
        except outbound.Refused as exc:
            self.refused.append({"url": current, "reason": str(exc)})
            route.abort("blockedbyclient")
            return
        except CaptureError:
            route.abort("blockedbyclient")
            return
        except (OSError, http.client.HTTPException) as exc:
            self.refused.append({"url": current, "reason": _describe_network_error(current, exc)})
            route.abort("failed")
            return
        self._fulfil(route, exchange)

    @staticmethod
    def _fulfil(route: Route, exchange: Exchange) -> None:
        headers = {k: v for k, v in exchange.headers if k.lower() not in DROPPED_RESPONSE_HEADERS}
        try:
            route.fulfill(status=exchange.status, headers=headers, body=exchange.body)
        except PlaywrightError:  # the page went away meanwhile
            logger.debug("could not hand %s to the browser", exchange.url)


def _close_websocket(ws: WebSocketRoute) -> None:
    ws.close()


def _render(result: CaptureResult, budget: Budget) -> None:
    """Load the final URL in a fresh browser context and read the page, print and screenshot."""
    try:
        _render_in_browser(result, budget)
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        if "executable doesn't exist" in str(exc).lower():
            raise CaptureError(
                f"Chromium could not be started from {settings.CAPTURE_CHROMIUM} "
                "(install it, or set RECEIPTS_CHROMIUM)"
            ) from exc
        raise CaptureError(f"{result.final_url}: the browser failed ({first})") from exc


def _render_in_browser(result: CaptureResult, budget: Budget) -> None:
    router = _Router(budget, result.exchanges)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=settings.CAPTURE_CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                service_workers="block",
                accept_downloads=False,
                viewport={"width": 1280, "height": 900},
            )
            context.route("**/*", router.on_route)
            context.route_web_socket("**/*", _close_websocket)
            page = context.new_page()
            # Pop-ups are closed as they open: a capture is of one page.
            page.on("popup", lambda extra: extra.close())
            timeout_ms = max(budget.remaining(), 0.1) * 1000
            try:
                page.goto(result.final_url, wait_until="load", timeout=timeout_ms)
            except PlaywrightError as exc:
                if budget.exceeded:
                    raise CaptureError(budget.exceeded) from exc
                raise CaptureError(
                    f"{result.final_url} did not load within the capture's "
                    f"{settings.CAPTURE_TIMEOUT:g} seconds ({str(exc).splitlines()[0]})"
                ) from exc
            settle = min(settings.CAPTURE_SETTLE_SECONDS, max(budget.remaining() - 5, 0))
            if settle > 0:
                # A page that never goes quiet is captured as it stands.
                with suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=settle * 1000)
            if budget.exceeded:
                raise CaptureError(budget.exceeded)
            page.set_default_timeout(max(budget.remaining(), 5) * 1000)
            html = page.content()
            height = int(page.evaluate("document.documentElement.scrollHeight") or 0)
            if height > MAX_SCREENSHOT_HEIGHT:
                result.screenshot = page.screenshot(
                    full_page=True,
                    type="png",
                    clip={"x": 0, "y": 0, "width": 1280, "height": MAX_SCREENSHOT_HEIGHT},
                )
            else:
                result.screenshot = page.screenshot(full_page=True, type="png")
            result.pdf = page.pdf(print_background=True)
            context.close()
        finally:
            browser.close()
    if budget.exceeded:
        raise CaptureError(budget.exceeded)
    result.exchanges = router.exchanges
    result.refused = router.refused
    result.text = reading.main_text(html)
    result.facts = reading.page_facts(html, result.final_url)


def capture_link(url: str) -> CaptureResult:
    """Capture ``url``: a web page through the browser, a PDF, image or CSV as it comes.

    Raises ``CaptureError`` with one clear message for a link that is refused,
    gone, too slow, too big or not something Receipts keeps.
    """
    budget = Budget()
    captured_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    chain = fetch_document(url, budget)
    final = chain[-1]
    if final.status >= 400:
        raise CaptureError(
            f"{final.url} answered {final.status} {final.reason}".rstrip() + "; nothing captured",
            status=final.status,
            gone=True,
        )
    result = CaptureResult(
        requested_url=url,
        final_url=final.url,
        status=final.status,
        media_type=final.media_type,
        captured_at=captured_at,
        exchanges=chain,
        kind="page",
    )
    if final.media_type in HTML_TYPES or (
        not final.media_type
        and final.body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
    ):
        result.media_type = result.media_type or "text/html"
        _render(result, budget)
        return result
    try:
        sniffed = sniff_media_type(final.body[:2048], urlsplit(final.url).path)
    except EvidenceError:
        sniffed = final.media_type if final.media_type in ("text/csv", "text/plain") else ""
    if sniffed not in FILE_TYPES:
        raise CaptureError(
            f"{final.url} serves {final.media_type or 'an unknown type'}, which is not a web page, "
            "PDF, image (PNG, JPEG, GIF, WebP) or CSV file"
        )
    if not final.body:
        raise CaptureError(f"{final.url} answered with an empty body; nothing captured")
    result.kind = "file"
    result.media_type = sniffed
    result.original = final.body
    if sniffed in ("text/csv", "text/plain"):
        result.text = final.body.decode("utf-8", errors="replace")
    return result
