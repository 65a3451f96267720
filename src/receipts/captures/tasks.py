"""The queued re-check of sources: each run checks the sources that are due, then
queues the next run a day later."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone
from django_tasks import task

from .checks import check_due_sources

logger = logging.getLogger(__name__)


@task()
def recheck_sources() -> dict[str, Any]:
    """Check the due sources, then queue the next run for a day later."""
    checks = check_due_sources()
    schedule_rechecks(run_after=timezone.now() + dt.timedelta(days=1))
    counts: dict[str, Any] = {}
    for check in checks:
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
    return counts


def schedule_rechecks(run_after: dt.datetime | None = None) -> None:
    """Queue ``recheck_sources`` unless a run is already waiting (deferred runs need a queue that defers)."""
    backend = recheck_sources.get_backend()
    if run_after is not None and not backend.supports_defer:
        return
    try:
        from django_tasks import TaskResultStatus
        from django_tasks_db import DatabaseBackend
        from django_tasks_db.models import DBTaskResult

        if isinstance(backend, DatabaseBackend):
            waiting = DBTaskResult.objects.filter(
                task_path=recheck_sources.module_path, status=TaskResultStatus.READY
            )
            if waiting.exists():
                return
        queued = recheck_sources.using(run_after=run_after) if run_after else recheck_sources
        queued.enqueue()
    except Exception:  # a queue that cannot take it must not undo a capture
        logger.exception("could not queue recheck_sources; `receipts recheck` does the same")
