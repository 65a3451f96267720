"""A capture made without a browser: a result built by hand, stored by the real service."""

from __future__ import annotations

import datetime as dt

from receipts.captures.browser import CaptureResult
from receipts.captures.fetching import Exchange
from receipts.captures.models import Capture
from receipts.captures.storing import store_capture
from receipts.evidence.models import Source


def make_capture(source: Source, text: str = "The agency signed a contract.") -> Capture:
    url = source.url or "https://example.org/report"
    body = f"<html><body><p>{text}</p></body></html>".encode()
    exchange = Exchange(
        method="GET",
        url=url,
        request_headers=[],
        status=200,
        reason="OK",
        headers=[("Content-Type", "text/html")],
        body=body,
        at=dt.datetime.now(dt.UTC).timestamp(),
    )
    result = CaptureResult(
        requested_url=url,
        final_url=url,
        status=200,
        media_type="text/html",
        captured_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        exchanges=[exchange],
        kind="page",
        text=text,
    )
    return store_capture(source, result)
