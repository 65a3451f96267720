"""The queued task that sends alerts, and the scheduling around it.

Recording an event schedules ``send_pending`` once the change commits, and
a run that leaves retries waiting schedules itself again for when the
earliest is due, so alerts go out with nothing but the database-backed queue
(``django_tasks_db``) and its worker (``receipts db_worker``). At most one
run waits in the queue at a time: an import that records events in fifty
batches queues one run, not fifty. ``receipts watch run`` does the same work
without the queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task

logger = logging.getLogger(__name__)


@task()
def send_pending() -> dict[str, Any]:
    """Send what is pending on every channel; queue the next retry if one waits."""
    from .delivery import send_pending as send

    summary = send()
    if summary.next_attempt_at is not None:
        schedule_delivery(run_after=summary.next_attempt_at)
    return summary.as_dict()


def _already_queued(run_after: dt.datetime | None) -> bool:
    """True when a run of ``send_pending`` is waiting that starts no later than wanted."""
    backend = send_pending.get_backend()
    try:
        from django_tasks_db import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # pragma: no cover - the database backend is a dependency
        return False
    if not isinstance(backend, DatabaseBackend):  # other backends keep no queue to look into
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=send_pending.module_path,
        status=TaskResultStatus.READY,
        backend_name=backend.alias,
    )
    # A run queued without a time is stored with the largest date, meaning "now".
    by = timezone.now() if run_after is None else run_after
    return waiting.filter(Q(run_after=get_date_max()) | Q(run_after__lte=by)).exists()


def schedule_delivery(run_after: dt.datetime | None = None) -> None:
    """Queue ``send_pending`` now (or at ``run_after``) unless a run is already waiting.

    A backend that cannot defer (the immediate one, in tests) runs retries on
    the next ``receipts watch run`` or the next recorded event instead.
    """
    if run_after is not None and not send_pending.get_backend().supports_defer:
        return
    try:
        if _already_queued(run_after):
            return
        queued = send_pending.using(run_after=run_after) if run_after is not None else send_pending
        queued.enqueue()
    except Exception:  # the change is committed; a queue failure must not undo or hide it
        logger.exception("could not queue send_pending; `receipts watch run` sends it")
