"""The count of anonymous screenings per client: windows, and no place taken twice at once."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from receipts.outreach.models import RateLimitBucket
from receipts.screening.services import ScreeningThrottled, take_anonymous_screening

NOON = dt.datetime(2026, 3, 2, 12, 0, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_each_window_counts_and_says_when_it_reopens(settings) -> None:
    settings.SCREEN_RATE_PER_MINUTE = 2
    settings.SCREEN_RATE_PER_DAY = 3
    take_anonymous_screening("client-a", NOON)
    take_anonymous_screening("client-a", NOON)
    with pytest.raises(ScreeningThrottled) as minute:
        take_anonymous_screening("client-a", NOON)
    assert minute.value.retry_after == 30
    take_anonymous_screening("client-b", NOON)  # another client has its own count
    take_anonymous_screening("client-a", NOON + dt.timedelta(minutes=1))
    with pytest.raises(ScreeningThrottled) as day:
        take_anonymous_screening("client-a", NOON + dt.timedelta(minutes=2))
    assert day.value.retry_after == 12 * 3600 - 150
    # A refused screening takes nothing: the counts are as before it.
    counts = dict(
        RateLimitBucket.objects.filter(client_key="client-a", scope="screen/day").values_list(
            "scope", "count"
        )
    )
    assert counts == {"screen/day": 3}
    take_anonymous_screening("client-a", NOON + dt.timedelta(days=1))


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_concurrent_screenings_cannot_take_the_last_place_twice(settings) -> None:
    settings.SCREEN_RATE_PER_MINUTE = 5
    settings.SCREEN_RATE_PER_DAY = 1000

    def attempt(_n: int) -> bool:
        try:
            take_anonymous_screening("client-c", NOON)
        except ScreeningThrottled:
            return False
        finally:
            connection.close()
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(40)))
    assert results.count(True) == 5
    assert RateLimitBucket.objects.get(client_key="client-c", scope="screen/minute").count == 5
