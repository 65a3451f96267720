"""Writes of the captures app: capture a link for a source (new or existing), and take
what the page says of itself into the source once an editor agrees.

The capture is stored as ``receipts.captures.storing`` stores every capture:
files first, rows last, all or nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from receipts.evidence.models import Source, SourceKind
from receipts.evidence.services import EvidenceError, save_source

from .browser import capture_link
from .fetching import CaptureError
from .models import Capture, CheckOutcome, SourceCheck
from .store import StagedFiles
from .storing import capture_row, stage_files, witness_after_commit


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
        files = stage_files(result, staged)
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
        capture = capture_row(source, result, files)
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
        witness_after_commit(capture)
    return capture


def _schedule_next_check() -> None:
    from .tasks import schedule_rechecks

    schedule_rechecks(run_after=timezone.now() + dt.timedelta(days=1))
