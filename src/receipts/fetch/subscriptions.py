"""Saving and running subscriptions, and what they tell about data freshness.

A run that fails is recorded with its error and tried again after a pause
that doubles with each failure (15 minutes, 30, … never longer than the
subscription's own interval); a run that succeeds schedules the next one a
day or a week later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max
from django.utils import timezone

from .models import Subscription
from .usaspending_api import ApiAgency, UsaspendingApi

RETRY_FIRST = dt.timedelta(minutes=15)


def subscribe(agency: ApiAgency, every: str, *, since: dt.date) -> tuple[Subscription, bool]:
    """Save (or update) the subscription to an agency; its first run is due now (the
    caller queues it: ``receipts.fetch.tasks.schedule_runs``)."""
    subscription, created = Subscription.objects.update_or_create(
        agency_code=agency.code,
        defaults={
            "agency_name": agency.name,
            "agency_tier": agency.tier,
            "toptier_name": agency.toptier_name,
            "every": every,
            "active": True,
        },
        create_defaults={
            "agency_name": agency.name,
            "agency_tier": agency.tier,
            "toptier_name": agency.toptier_name,
            "every": every,
            "since": since,
            "next_run_at": timezone.now(),
        },
    )
    return subscription, created


def agency_of(subscription: Subscription) -> ApiAgency:
    return ApiAgency(
        subscription.agency_code,
        subscription.agency_name,
        subscription.agency_tier,
        subscription.toptier_name,
    )


def run_subscription(subscription: Subscription, api: UsaspendingApi | None = None) -> str:
    """Fetch and import what changed since the last success; returns a line saying what happened.

    Never raises for a failed fetch or import: the error is recorded on the
    subscription and the run is scheduled again.
    """
    from .services import fetch_usaspending

    now = timezone.now()
    today = timezone.localdate(now)
    if subscription.last_success_from is None:
        date_type, start = "action_date", subscription.since
    else:
        date_type, start = "last_modified_date", subscription.last_success_from
    subscription.last_attempt_at = now
    try:
        result = fetch_usaspending(
            agency_of(subscription), start, today, date_type=date_type, api=api
        )
    except Exception as exc:  # recorded and retried: one failed run must not stop the schedule
        subscription.failures += 1
        subscription.last_error = str(exc)[:2000] or exc.__class__.__name__
        pause = min(RETRY_FIRST * 2 ** (subscription.failures - 1), subscription.interval)
        subscription.next_run_at = now + pause
        subscription.save()
        return (
            f"subscription {subscription.pk} ({subscription.agency_name}): failed, "
            f"{subscription.last_error}; next try {subscription.next_run_at:%Y-%m-%d %H:%M} UTC"
        )
    subscription.failures = 0
    subscription.last_error = ""
    subscription.last_success_at = timezone.now()
    subscription.last_success_from = today
    subscription.last_rows = result.summary.rows_read
    subscription.last_file_name = result.job.file_name
    subscription.next_run_at = now + subscription.interval
    subscription.save()
    t = result.summary.transactions
    return (
        f"subscription {subscription.pk} ({subscription.agency_name}): {date_type} {start} to "
        f"{today}, {result.summary.rows_read} rows read; transactions {t.stored} stored, "
        f"{t.updated} updated, {t.deleted} deleted"
    )


def due_subscriptions() -> list[Subscription]:
    return list(
        Subscription.objects.filter(active=True, next_run_at__lte=timezone.now()).order_by(
            "next_run_at"
        )
    )


def run_due(api: UsaspendingApi | None = None) -> list[str]:
    """Run every subscription that is due, one after the other (imports run one at a time)."""
    return [run_subscription(s, api) for s in due_subscriptions()]


def subscription_records() -> list[dict[str, Any]]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return [
        {
            "id": s.pk,
            "agency": s.agency_name,
            "agency_code": s.agency_code,
            "every": s.every,
            "active": s.active,
            "since": iso(s.since),
            "last_success_at": iso(s.last_success_at),
            "last_rows": s.last_rows,
            "next_run_at": iso(s.next_run_at),
            "last_attempt_at": iso(s.last_attempt_at),
            "failures": s.failures,
            "last_error": s.last_error,
        }
        for s in Subscription.objects.all()
    ]


def records_as_of(agency_codes: list[str]) -> dt.datetime | None:
    """When contract data for any of these agency codes last came in by a successful fetch."""
    if not agency_codes:
        return None
    return Subscription.objects.filter(agency_code__in=agency_codes).aggregate(
        at=Max("last_success_at")
    )["at"]
