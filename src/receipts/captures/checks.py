"""Re-checking sources for rot and change, on a cadence, through the task queue.

A check loads the source's link as a capture does. It is ``alive`` when the
main text equals the latest capture's (whitespace aside), ``changed`` when it
differs (the new capture is kept beside the old ones), ``gone`` when the link
answers 4xx/5xx, does not resolve or cannot be reached, and ``failed`` when
the capture was refused or over its limits. Changed and gone sources make
``source_changed`` and ``source_gone`` events for the watchlists of the
entities their receipts back.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from receipts.evidence.models import Source
from receipts.evidence.services import EvidenceError

from .browser import capture_link
from .fetching import CaptureError
from .models import Capture, CheckOutcome, SourceCheck
from .storing import store_capture

logger = logging.getLogger(__name__)
_SPACE = re.compile(r"\s+")


def same_text(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def check_source(source: Source) -> SourceCheck:
    """Check ``source``'s link once and record the outcome (and a capture when it changed)."""
    from receipts.watch.models import EventKind
    from receipts.watch.services import record_source_event

    if not source.url:
        raise EvidenceError("url", f"source {source.pk} ({source.title}) has no link to check")
    now = timezone.now()
    latest = Capture.objects.filter(source=source).order_by("-captured_at", "-id").first()
    try:
        result = capture_link(source.url)
    except CaptureError as exc:
        outcome = CheckOutcome.GONE if exc.gone else CheckOutcome.FAILED
        with transaction.atomic():
            check = SourceCheck.objects.create(
                source=source, checked_at=now, outcome=outcome, detail=str(exc)[:1000]
            )
            if exc.gone:
                record_source_event(
                    source,
                    EventKind.SOURCE_GONE,
                    f"Source gone: {source.title} ({str(exc)[:300]})",
                    key=now.date().isoformat(),
                    now=now,
                )
        return check
    if latest is not None and same_text(latest.text, result.text):
        return SourceCheck.objects.create(
            source=source, checked_at=now, outcome=CheckOutcome.ALIVE, capture=latest
        )
    capture = store_capture(source, result)
    with transaction.atomic():
        check = SourceCheck.objects.create(
            source=source,
            checked_at=now,
            outcome=CheckOutcome.CHANGED if latest is not None else CheckOutcome.ALIVE,
            detail="" if latest is not None else "first capture",
            capture=capture,
        )
        if latest is not None:
            record_source_event(
                source,
                EventKind.SOURCE_CHANGED,
                f"Source changed: {source.title} (text differs from the capture of "
                f"{latest.captured_at:%Y-%m-%d})",
                key=capture.fingerprint,
                now=now,
            )
    return check


def due_sources(now: dt.datetime | None = None) -> list[Source]:
    """Sources with a link whose last check is older than their cadence (weekly by default)."""
    now = now or timezone.now()
    sources = (
        Source.objects.exclude(url="")
        .annotate(last_checked=Max("checks__checked_at"))
        .select_related("check_cadence")
        .order_by("pk")
    )
    due = []
    for source in sources:
        cadence = getattr(source, "check_cadence", None)
        days = cadence.every_days if cadence is not None else settings.CAPTURE_RECHECK_DAYS
        last = source.last_checked  # type: ignore[attr-defined]
        if last is None or last <= now - dt.timedelta(days=days):
            due.append(source)
    return due


def check_due_sources(*, every: bool = False) -> list[SourceCheck]:
    """Check every due source (every source with a link, with ``every``)."""
    sources = list(Source.objects.exclude(url="").order_by("pk")) if every else due_sources()
    checks = []
    for source in sources:
        try:
            checks.append(check_source(source))
        except Exception:  # one bad source must not stop the others' checks
            logger.exception("check of source %s failed", source.pk)
    return checks


def set_cadence(source: Source, every_days: int | None) -> None:
    """Re-check ``source`` every ``every_days`` days; None goes back to the default."""
    from .models import CheckCadence

    if every_days is None:
        CheckCadence.objects.filter(source=source).delete()
        return
    if not 1 <= every_days <= 3650:
        raise EvidenceError("every_days", f"{every_days} is not between 1 and 3650 days")
    CheckCadence.objects.update_or_create(source=source, defaults={"every_days": every_days})
