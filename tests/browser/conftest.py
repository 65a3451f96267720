"""Browser test set-up: every page must load from the live server alone.

Each browser test gets a guard that aborts and records any request leaving
the live server, and records Content-Security-Policy violations and script
errors reported by the page. A test passes only if all three stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Route
from pytest_django.live_server_helper import LiveServer

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy", "Refused to")


@dataclass
class PageGuard:
    """What a page tried that a self-contained, CSP-clean site never does."""

    origin: str
    offsite_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # Set once a check has failed, so the fixture does not report it twice.
    reported: bool = False

    def on_route(self, route: Route) -> None:
        url = route.request.url
        # Compare with a trailing slash: http://127.0.0.1:8000 must not let
        # http://127.0.0.1:80001 or http://127.0.0.1:8000.evil.example through.
        if url == self.origin or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.offsite_requests.append(url)
            route.abort()

    def on_console(self, message: ConsoleMessage) -> None:
        if any(marker in message.text for marker in CSP_MARKERS):
            self.csp_violations.append(message.text)

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(str(error))

    def assert_clean(self) -> None:
        self.reported = bool(self.offsite_requests or self.csp_violations or self.page_errors)
        assert self.offsite_requests == [], "requests left the live server"
        assert self.csp_violations == [], "the page broke its Content-Security-Policy"
        assert self.page_errors == [], "the page raised script errors"


@pytest.fixture(autouse=True)
def page_guard(page: Page, live_server: LiveServer) -> Iterator[PageGuard]:
    guard = PageGuard(origin=live_server.url.rstrip("/"))
    page.route("**/*", guard.on_route)
    page.on("console", guard.on_console)
    page.on("pageerror", guard.on_page_error)
    yield guard
    # Let late subresources (the tie map, deferred scripts) report before checking.
    page.wait_for_load_state("load")
    if not guard.reported:
        guard.assert_clean()
