"""Per-client rate limits kept in the database, so they hold across server processes.

A client is a keyed hash of its address (never the address itself). Each scope
counts places in a minute window and a day window; a request takes one place
in both or in neither, and two requests of one client cannot both take the
last place: the bucket rows are locked (PostgreSQL) or the write is serialised
(SQLite's immediate transactions). Call it inside the transaction of the work
it admits, so work that fails later gives its place back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F

from .models import RateLimitBucket


def take_place(
    client_key: str, scope: str, per_minute: int, per_day: int, now: datetime
) -> int | None:
    """Count one request of ``scope`` for the client: None if counted, else seconds to wait."""
    minute = now.replace(second=0, microsecond=0)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [
        (f"{scope}/minute", minute, per_minute, minute + timedelta(minutes=1)),
        (f"{scope}/day", day, per_day, day + timedelta(days=1)),
    ]
    # Windows older than a day can never be asked for again.
    RateLimitBucket.objects.filter(
        client_key=client_key, window_start__lt=day - timedelta(days=1)
    ).delete()
    taken: list[int] = []
    for name, start, limit, ends in windows:
        bucket, _ = RateLimitBucket.objects.get_or_create(
            client_key=client_key, scope=name, window_start=start
        )
        bucket = RateLimitBucket.objects.select_for_update().get(pk=bucket.pk)
        if bucket.count >= limit:
            return max(1, int((ends - now).total_seconds()))
        taken.append(bucket.pk)
    RateLimitBucket.objects.filter(pk__in=taken).update(count=F("count") + 1)
    return None
