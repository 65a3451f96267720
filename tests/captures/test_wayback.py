"""The Wayback witness against a local server speaking Save Page Now 2 and the CDX API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from receipts.captures.models import Capture
from receipts.captures.services import capture_source
from receipts.captures.wayback import WaybackError, save_page_now
from tests.factories import make_source

from .site import Site

pytestmark = pytest.mark.django_db

STAMP = "20260314091244"


class Archive:
    """What the fake Save Page Now does: how many 429s first, and whether jobs ever finish."""

    def __init__(self) -> None:
        self.too_many = 0
        self.finishes = True
        self.archived_anyway = False
        self.calls: list[str] = []
        self.saved: list[str] = []


def serve(archive: Archive) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _json(self, status: int, body: Any, **headers: str) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            archive.calls.append(f"POST {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            url = parse_qs(self.rfile.read(length).decode())["url"][0]
            if archive.too_many > 0:
                archive.too_many -= 1
                self._json(429, {"message": "slow down"}, Retry_After="0")
                return
            archive.saved.append(url)
            self._json(200, {"url": url, "job_id": "spn2-job-1"})

        def do_GET(self) -> None:
            archive.calls.append(f"GET {self.path}")
            path = urlsplit(self.path)
            if path.path == "/save/status/spn2-job-1":
                if archive.finishes:
                    self._json(
                        200,
                        {
                            "status": "success",
                            "timestamp": STAMP,
                            "original_url": archive.saved[-1],
                        },
                    )
                else:
                    self._json(200, {"status": "pending"})
            elif path.path == "/cdx/search/cdx":
                query = parse_qs(path.query)
                rows: list[list[str]] = [["urlkey", "timestamp", "original", "statuscode"]]
                if archive.archived_anyway:
                    rows.append(["x", "29990101000000", query["url"][0], "200"])
                self._json(200, rows)
            else:
                self._json(404, {"message": "no such path"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def archive(settings: Any) -> Iterator[Archive]:
    state = Archive()
    server = serve(state)
    settings.ALLOW_PRIVATE_ADDRESSES = True
    settings.WAYBACK = True
    settings.WAYBACK_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WAYBACK_MIN_INTERVAL = 0
    settings.WAYBACK_POLL_SECONDS = 0.05
    settings.WAYBACK_BACKOFF_SECONDS = 0.01
    settings.WAYBACK_TIMEOUT = 1
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    yield state
    server.shutdown()
    server.server_close()


def test_a_capture_is_submitted_and_its_wayback_address_recorded(
    archive: Archive,
    site: Site,
    local_captures: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    archive.too_many = 2  # rate-limited twice: backs off and tries again
    with django_capture_on_commit_callbacks(execute=True):
        capture = capture_source(site.url("/article"), source=make_source("Cloud deal"))
    capture.refresh_from_db()
    assert capture.wayback_url == f"{archive_url(archive)}/web/{STAMP}/{site.url('/article')}"
    assert archive.saved == [site.url("/article")]
    assert archive.calls.count("POST /save") == 3


def archive_url(archive: Archive) -> str:
    from django.conf import settings

    return settings.WAYBACK_URL


def test_a_job_that_timed_out_but_archived_is_found_in_the_index(archive: Archive) -> None:
    archive.finishes = False
    archive.archived_anyway = True
    address = save_page_now("https://example.org/report")
    assert address == f"{archive_url(archive)}/web/29990101000000/https://example.org/report"
    assert any(call.startswith("GET /cdx/search/cdx?") for call in archive.calls)


def test_a_job_that_timed_out_and_archived_nothing_is_a_failure(archive: Archive) -> None:
    archive.finishes = False
    with pytest.raises(WaybackError, match="did not finish"):
        save_page_now("https://example.org/report")


def test_without_the_setting_nothing_is_submitted(
    archive: Archive,
    site: Site,
    local_captures: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WAYBACK = False
    with django_capture_on_commit_callbacks(execute=True):
        capture_source(site.url("/article"))
    assert archive.calls == []
    assert Capture.objects.get().wayback_url == ""
