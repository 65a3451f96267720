"""An outside witness: each captured URL also submitted to the Internet Archive's Save Page Now.

With ``RECEIPTS_WAYBACK=1`` a capture queues ``submit_to_wayback`` once it
commits. The submission follows Save Page Now 2: POST ``/save``, then poll
``/save/status/<job>`` until the snapshot is made, and record its Wayback
address on the capture. Submissions keep a minimum interval and back off on
429 and 5xx answers (``Retry-After`` when given). A job that runs past the
time allowed may still have archived the page, so the CDX index is asked for
a snapshot made since the submission before it counts as a failure. Every
request goes through the outbound guard.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from receipts import outbound

from .models import Capture

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_LAST_SUBMISSION = [0.0]


class WaybackError(Exception):
    """Save Page Now did not archive the URL; the message says why."""


def _headers() -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "Receipts (web captures of sources)"}
    if settings.WAYBACK_ACCESS_KEY and settings.WAYBACK_SECRET_KEY:
        headers["Authorization"] = (
            f"LOW {settings.WAYBACK_ACCESS_KEY}:{settings.WAYBACK_SECRET_KEY}"
        )
    return headers


def _call(method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    """One request to the Wayback Machine, retried with backoff on 429 and 5xx answers."""
    delay = settings.WAYBACK_BACKOFF_SECONDS
    headers = _headers()
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    for attempt in range(settings.WAYBACK_MAX_ATTEMPTS):
        response = outbound.request(
            method,
            settings.WAYBACK_URL.rstrip("/") + path,
            body=body,
            headers=headers,
            timeout=settings.WAYBACK_REQUEST_TIMEOUT,
        )
        if response.status == 429 or response.status >= 500:
            if attempt + 1 < settings.WAYBACK_MAX_ATTEMPTS:
                time.sleep(delay)
                delay *= 2
                continue
            raise WaybackError(f"{path} answered {response.status} after {attempt + 1} tries")
        try:
            return response.status, json.loads(response.body or b"null")
        except ValueError:
            return response.status, None
    raise WaybackError(f"{path} did not answer")  # pragma: no cover - the loop returns or raises


def _wait_turn() -> None:
    """Keep the minimum interval between submissions (Save Page Now's rate limit)."""
    with _LOCK:
        wait = _LAST_SUBMISSION[0] + settings.WAYBACK_MIN_INTERVAL - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _LAST_SUBMISSION[0] = time.monotonic()


def snapshot_since(url: str, since: str) -> str:
    """The Wayback address of a snapshot of ``url`` made at or after ``since`` (YYYYmmddHHMMSS), or ''."""
    query = urlencode({"url": url, "from": since, "output": "json", "limit": "-5"})
    status, rows = _call("GET", f"/cdx/search/cdx?{query}")
    if status != 200 or not isinstance(rows, list) or len(rows) < 2:
        return ""
    header, *found = rows
    try:
        stamp_at, original_at = header.index("timestamp"), header.index("original")
    except ValueError:
        return ""
    newest = max(found, key=lambda row: row[stamp_at])
    if str(newest[stamp_at]) < since:
        return ""
    return _address(str(newest[stamp_at]), str(newest[original_at]))


def _address(stamp: str, original: str) -> str:
    return f"{settings.WAYBACK_URL.rstrip('/')}/web/{stamp}/{original}"


def save_page_now(url: str) -> str:
    """Submit ``url`` and wait for its snapshot; the Wayback address. Raises ``WaybackError``."""
    _wait_turn()
    since = timezone.now().strftime("%Y%m%d%H%M%S")
    deadline = time.monotonic() + settings.WAYBACK_TIMEOUT
    try:
        status, job = _call("POST", "/save", urlencode({"url": url}).encode())
        if status >= 400 or not isinstance(job, dict) or not job.get("job_id"):
            raise WaybackError(f"Save Page Now refused {url} ({status}: {job})")
        job_path = f"/save/status/{quote(str(job['job_id']), safe='')}"
        while time.monotonic() < deadline:
            _, state = _call("GET", job_path)
            if isinstance(state, dict) and state.get("status") == "success":
                return _address(str(state["timestamp"]), str(state.get("original_url") or url))
            if isinstance(state, dict) and state.get("status") == "error":
                raise WaybackError(
                    f"Save Page Now could not archive {url}: "
                    f"{state.get('message') or state.get('status_ext') or 'error'}"
                )
            time.sleep(settings.WAYBACK_POLL_SECONDS)
    except (OSError, outbound.Refused) as exc:
        found = _found_anyway(url, since)
        if found:
            return found
        raise WaybackError(f"Save Page Now could not be reached for {url} ({exc})") from exc
    found = _found_anyway(url, since)
    if found:
        return found
    raise WaybackError(f"Save Page Now did not finish {url} within {settings.WAYBACK_TIMEOUT:g} s")


def _found_anyway(url: str, since: str) -> str:
    """A snapshot made despite a timeout: a slow job is not a failed one."""
    try:
        return snapshot_since(url, since)
    except (OSError, outbound.Refused, WaybackError):
        return ""


@task()
def submit_to_wayback(capture_id: int) -> str:
    """Submit a capture's URL to Save Page Now and record the Wayback address on the capture."""
    capture = Capture.objects.filter(pk=capture_id).first()
    if capture is None:
        return ""
    try:
        address = save_page_now(capture.final_url)
    except WaybackError as exc:
        logger.warning("wayback: %s", exc)
        return ""
    Capture.objects.filter(pk=capture_id).update(wayback_url=address[:2000])
    return address


def queue_submission(capture_id: int) -> None:
    """Queue the submission when the Wayback witness is on; a queue failure never undoes a capture."""
    if not settings.WAYBACK:
        return
    try:
        submit_to_wayback.enqueue(capture_id)
    except Exception:
        logger.exception("could not queue the Wayback submission of capture %s", capture_id)
