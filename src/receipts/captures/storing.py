"""Storing one capture: its files into the archive store, then the manifest that
lists them (its SHA-256 is the fingerprint), then its row, all or nothing.

A failure anywhere removes the files this capture added, so nothing is ever
half-stored.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction

from receipts.evidence.models import Source
from receipts.evidence.services import UNSTORABLE

from .browser import CaptureResult
from .models import Capture, CaptureKind
from .store import StagedFiles
from .timestamps import timestamp_manifest

MANIFEST_MEDIA_TYPE = "application/json"
WACZ_MEDIA_TYPE = "application/wacz"


def _storable(text: str, limit: int | None = None) -> str:
    text = UNSTORABLE.sub("", text)
    return text[:limit] if limit is not None else text


def manifest_bytes(result: CaptureResult, files: dict[str, dict[str, Any]]) -> bytes:
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


def stage_files(result: CaptureResult, staged: StagedFiles) -> dict[str, dict[str, Any]]:
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
    manifest = manifest_bytes(result, files)
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


def capture_row(source: Source, result: CaptureResult, files: dict[str, Any]) -> Capture:
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
        files = stage_files(result, staged)
        with transaction.atomic():
            capture = capture_row(source, result, files)
            witness_after_commit(capture)
            return capture


def witness_after_commit(capture: Capture) -> None:
    """Once the capture commits, submit its URL to the Wayback Machine (when configured)."""
    from .wayback import queue_submission

    transaction.on_commit(lambda: queue_submission(capture.pk), robust=True)
