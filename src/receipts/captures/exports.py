"""Captures out again: a source's captures as one WACZ file, and as FollowTheMoney Documents."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from receipts.evidence.models import Source
from receipts.evidence.services import EvidenceError

from .models import Capture
from .store import read_file
from .wacz import merge_wacz

# FtM ids of capture Documents start with this; an FtM import skips them (their files
# travel as WACZ, not in the JSON line).
FTM_ID_PREFIX = "receipts-capture-"


def source_wacz(source: Source) -> tuple[bytes, int]:
    """Every capture of ``source`` (oldest first) as the bytes of one WACZ, and how many."""
    captures = list(Capture.objects.filter(source=source).order_by("captured_at", "id"))
    if not captures:
        raise EvidenceError("source", f"source {source.pk} ({source.title}) has no captures")
    parts = []
    for capture in captures:
        try:
            parts.append(read_file(capture.files["wacz"]["sha256"]))
        except FileNotFoundError as exc:
            raise EvidenceError(
                "archive",
                f"the WACZ of capture {capture.pk} ({capture.files['wacz']['sha256']}) "
                "is missing from the archive folder",
            ) from exc
    return merge_wacz(parts, title=source.title), len(captures)


def export_source_wacz(source: Source, output: Path) -> int:
    """Write ``source``'s captures to ``output``, which appears whole or, on any error, not at all."""
    data, count = source_wacz(source)
    output = Path(output)
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, output)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return count


def capture_documents() -> Iterator[Any]:
    """Each capture as an FtM Document: the WACZ's SHA-256 as contentHash, the source as its publisher's."""
    from receipts.interchange.followthemoney.common import new_proxy

    captures = Capture.objects.select_related("source").order_by("fingerprint", "id")
    for capture in captures.iterator(chunk_size=500):
        proxy = new_proxy(
            "Document", f"{FTM_ID_PREFIX}{capture.fingerprint}", f"capture {capture.pk}"
        )
        wacz = capture.files["wacz"]
        proxy.add(
            "title", f"Capture of {capture.final_url} at {capture.captured_at:%Y-%m-%d %H:%M} UTC"
        )
        proxy.add("sourceUrl", capture.final_url)
        proxy.add("retrievedAt", capture.captured_at.date().isoformat())
        proxy.add("contentHash", wacz["sha256"])
        proxy.add("fileName", f"capture-{capture.captured_at:%Y%m%dT%H%M%SZ}.wacz")
        proxy.add("mimeType", "application/wacz")
        proxy.add("fileSize", str(wacz["size"]))
        proxy.add("keywords", "web_capture")
        proxy.add(
            "summary",
            f"Capture of the source {capture.source.ftm_id}; manifest SHA-256 {capture.fingerprint}",
        )
        if capture.source.publisher:
            proxy.add("publisher", capture.source.publisher)
        yield proxy
