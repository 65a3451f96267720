"""Writes of the captures app: capture a link for a source, and re-check sources for rot.

Every capture is stored in the same order: the files into the archive
store, then the manifest that lists them (its SHA-256 is the fingerprint),
then the database rows in one transaction. A failure anywhere removes the
files this capture added, so nothing is ever half-stored.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from receipts.evidence.models import Source, SourceKind
from receipts.evidence.services import UNSTORABLE, EvidenceError, save_source

from .browser import CaptureResult, capture_link
from .fetching import CaptureError
from .models import Capture, CaptureKind, CheckOutcome, SourceCheck
from .store import StagedFiles
from .timestamps import timestamp_manifest

MANIFEST_MEDIA_TYPE = "application/json"
WACZ_MEDIA_TYPE = "application/wacz"


def _storable(text: str, limit: int | None = None) -> str:
    text = UNSTORABLE.sub("", text)
    return text[:limit] if limit is not None else text


def _manifest(result: CaptureResult, files: dict[str, dict[str, Any]]) -> bytes:
    """The capture's manifest: what was asked, what answered, and every file by its SHA-256."""
    body = {
        "format": "receipts-capture-1",
        "requested_url": result.requested_url,
        "final_url": result.final_url,
        "status": result.status,
        "media_type": result.media_type,
        "captured_at": result.captured_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "files": files,
        "refused_requests": result.refused,
    }
    return json.dumps(body, indent=2, sort_keys=True).encode()


def _stage(result: CaptureResult, staged: StagedFiles) -> dict[str, dict[str, Any]]:
    """Put the files of ``result`` into the archive store; the manifest entries, manifest last."""
    from .wacz import write_wacz

    files: dict[str, dict[str, Any]] = {}
    files["wacz"] = staged.put(
        write_wacz(
            result.exchanges,
            page_url=result.final_url,
            title=result.facts.title,
            captured_at=result.captured_at,
        ),
        WACZ_MEDIA_TYPE,
    )
    if result.screenshot:
        files["screenshot"] = staged.put(result.screenshot, "image/png")
    if result.pdf:
        files["pdf"] = staged.put(result.pdf, "application/pdf")
    if result.original:
        files["original"] = staged.put(result.original, result.media_type)
    if result.text:
        files["text"] = staged.put(result.text.encode(), "text/plain")
    manifest = _manifest(result, files)
    files["manifest"] = staged.put(manifest, MANIFEST_MEDIA_TYPE)
    stamp = timestamp_manifest(manifest)
    if stamp is not None:
        # Not in the manifest (it vouches for the manifest): kept beside it.
        files["timestamp"] = {
            **staged.put(stamp.token, "application/timestamp-reply"),
            "at": stamp.at.isoformat(),
            "authority": stamp.authority,
        }
    return files


def _capture_row(source: Source, result: CaptureResult, files: dict[str, Any]) -> Capture:
    return Capture.objects.create(
        source=source,
        kind=CaptureKind.PAGE if result.kind == "page" else CaptureKind.FILE,
        requested_url=result.requested_url[:2000],
        final_url=result.final_url[:2000],
        status=result.status,
        media_type=result.media_type[:100],
        captured_at=result.captured_at,
        fingerprint=str(files["manifest"]["sha256"]),
        files=files,
        text=_storable(result.text),
        found_title=_storable(result.facts.title, 500),
        found_publisher=_storable(result.facts.publisher, 300),
        found_published=result.facts.published[:10],
        refused=result.refused,
        timestamp_sha256=str(files["timestamp"]["sha256"]) if "timestamp" in files else "",
        timestamped_at=(
            dt.datetime.fromisoformat(files["timestamp"]["at"]) if "timestamp" in files else None
        ),
        timestamp_authority=str(files["timestamp"]["authority"]) if "timestamp" in files else "",
    )


def store_capture(source: Source, result: CaptureResult) -> Capture:
    """Store the files of ``result`` and its Capture row for ``source``, all or nothing."""
    with StagedFiles() as staged:
        files = _stage(result, staged)
        with transaction.atomic():
            capture = _capture_row(source, result, files)
            _witness(capture)
            return capture


def apply_found_facts(source: Source, capture: Capture) -> Source:
    """Copy the title, publisher and date read from the page into the source (the editor agreed)."""
    return save_source(
        source=source,
        kind=source.kind,
        title=capture.found_title or source.title,
        publisher=capture.found_publisher or source.publisher,
        url=source.url or capture.final_url,
        published=capture.found_published or source.published,
        retrieved=source.retrieved or capture.captured_at.date().isoformat(),
    )


def capture_source(
    url: str,
    *,
    source: Source | None = None,
    kind: str = SourceKind.NEWS_REPORT,
    accept: bool = False,
) -> Capture:
    """Capture ``url`` and keep it for ``source`` (a new source of ``kind`` when None).

    A new source is titled with the URL until the editor accepts what the
    page says of itself (``accept``, or the confirmation page); an existing
    source changes only with ``accept``. Refusals (a blocked address, a dead
    link, a page over the limits) raise ``EvidenceError`` on ``url``.
    """
    url = url.strip()
    if not url:
        raise EvidenceError("url", "a capture needs a URL")
    try:
        result = capture_link(url)
    except CaptureError as exc:
        raise EvidenceError("url", str(exc)) from exc
    # Files first, rows last: a failure in either takes back the files this capture added.
    with StagedFiles() as staged, transaction.atomic():
        files = _stage(result, staged)
        if source is None:
            source = save_source(
                kind=kind,
                title=result.final_url[:500],
                url=url[:2000],
                retrieved=result.captured_at.date().isoformat(),
            )
        elif not source.url:
            source.url = url[:2000]
            source.save(update_fields=["url"])
        capture = _capture_row(source, result, files)
        # A capture is a check too: the next one is due a cadence later.
        SourceCheck.objects.create(
            source=source,
            checked_at=capture.captured_at,
            outcome=CheckOutcome.ALIVE,
            detail="captured",
            capture=capture,
        )
        if accept:
            apply_found_facts(source, capture)
        transaction.on_commit(_schedule_next_check, robust=True)
        _witness(capture)
    return capture


def _witness(capture: Capture) -> None:
    """Once the capture commits, submit its URL to the Wayback Machine (when configured)."""
    from .wayback import queue_submission

    transaction.on_commit(lambda: queue_submission(capture.pk), robust=True)


def _schedule_next_check() -> None:
    from .checks import schedule_rechecks

    schedule_rechecks(run_after=timezone.now() + dt.timedelta(days=1))
