"""A real webhook receiver on loopback, and settings for sending to it.

The receiver checks each POST with ``receipts.watch.webhooks.verify_signature``
exactly as a third-party receiver would, answers 204 for a valid signature and
401 otherwise, and can be told to fail its first requests with a 500.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from receipts.watch.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

SECRET = "a-webhook-secret-for-tests-0123456789"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    verified: bool
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str = SECRET
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.status == 204]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            verified = verify_signature(
                body,
                self.headers.get(SIGNATURE_HEADER, ""),
                state.secret,
                self.headers.get(TIMESTAMP_HEADER, ""),
            )
            if state.fail_first > 0:
                state.fail_first -= 1
                status = 500
            else:
                status = 204 if verified else 401
            state.requests.append(Received(body, dict(self.headers), verified, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/receipts?source=test"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def watch_settings(settings: Any) -> Any:
    settings.ALLOW_PRIVATE_ADDRESSES = True
    settings.WATCH_SITE_URL = "https://receipts.example"
    settings.WATCH_WEBHOOK_TIMEOUT = 5
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings
