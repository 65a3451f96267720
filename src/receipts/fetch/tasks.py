"""Queued tasks: run due subscriptions, and end contract ties whose contracts ran out.

``run_subscriptions`` runs what is due and queues itself again for when the
next subscription is due; ``end_expired_contracts`` runs daily, just after
midnight UTC, and queues itself for the next day. At most one run of each
waits in the queue (``receipts db_worker`` runs them). ``receipts fetch run``
does the same work without the queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import TaskResultStatus, task

logger = logging.getLogger(__name__)


@task()
def run_subscriptions() -> list[str]:
    """Run every due subscription, then queue the next run."""
    from .subscriptions import run_due

    lines = run_due()
    schedule_runs()
    schedule_calendar()
    return lines


def _waiting(queued: Any, run_after: dt.datetime | None) -> bool:
    """True when a run of this task is waiting that starts no later than wanted."""
    backend = queued.get_backend()
    try:
        from django_tasks_db import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # pragma: no cover - the database backend is a dependency
        return False
    if not isinstance(backend, DatabaseBackend):
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=queued.module_path, status=TaskResultStatus.READY, backend_name=backend.alias
    )
    by = timezone.now() if run_after is None else run_after
    return waiting.filter(Q(run_after=get_date_max()) | Q(run_after__lte=by)).exists()


def _enqueue(queued: Any, run_after: dt.datetime | None) -> None:
    if run_after is not None and run_after <= timezone.now():
        run_after = None
    if run_after is not None and not queued.get_backend().supports_defer:
        return  # the immediate backend (tests) runs it on the next ``receipts fetch run``
    try:
        if _waiting(queued, run_after):
            return
        (queued.using(run_after=run_after) if run_after is not None else queued).enqueue()
    except Exception:  # the subscription is saved; `receipts fetch run` does the work
        logger.exception("could not queue %s", queued.module_path)


@task()
def contract_calendar() -> dict[str, int]:
    """The daily pass over contract dates: end the ties whose contracts ran out, warn
    watchlists of contracts ending soon; then queue the next day's pass."""
    result = run_calendar()
    schedule_calendar()
    return result


def run_calendar(today: dt.date | None = None) -> dict[str, int]:
    from receipts.watch.services import record_contract_ending_events

    from .periods import end_expired_contract_ties

    result = end_expired_contract_ties(today)
    result["warnings"] = record_contract_ending_events(today)
    return result


def next_calendar_run(now: dt.datetime | None = None) -> dt.datetime:
    """Five minutes past the next midnight (UTC): the day's ends are yesterday's."""
    now = now or timezone.now()
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return midnight


def schedule_calendar() -> None:
    """Queue the daily pass for tomorrow unless one is already waiting."""
    _enqueue(contract_calendar, next_calendar_run())


def schedule_runs() -> None:
    """Queue ``run_subscriptions`` for when the next active subscription is due."""
    from .models import Subscription

    due = Subscription.objects.filter(active=True).aggregate(at=Min("next_run_at"))["at"]
    if due is not None:
        _enqueue(run_subscriptions, due)
