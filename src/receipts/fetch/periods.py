"""The calendar of contract ties: each day, the ties whose last contract ran out end.

The rules (when a tie ends, when it reopens) are in receipts.contracts.periods;
the import applies them to the pairs it recomputes, and this applies them to
the pairs whose awards' current periods of performance all passed since.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone

from receipts.evidence.models import Tie, TieKind, TieStatus


def expired_pairs(today: str) -> set[tuple[int, int]]:
    """(recipient, sub-agency) pairs whose contract tie is active although every award of
    the pair has a current end before ``today``."""
    from receipts.contracts.models import ContractAward

    active = Tie.objects.filter(
        kind=TieKind.CONTRACT,
        status=TieStatus.ACTIVE,
        subject_id=OuterRef("recipient_id"),
        object_id=OuterRef("sub_agency_id"),
    )
    return {
        (r, s)
        for r, s, _last, _first in ContractAward.objects.filter(
            recipient_id__isnull=False, sub_agency_id__isnull=False
        )
        .filter(Exists(active))
        .values("recipient_id", "sub_agency_id")
        .annotate(last=Max("current_end_date"), first=Min("current_end_date"))
        .filter(last__lt=today, first__gt="")
        .values_list("recipient_id", "sub_agency_id", "last", "first")
    }


def end_expired_contract_ties(today: dt.date | None = None) -> dict[str, int]:
    """End the contract ties whose last award ran out before ``today`` (default: today),
    by recomputing their pairs from the stored records."""
    from receipts.ingest.usaspending.ties import TieCounts, recompute_contract_ties

    day = (today or timezone.localdate()).isoformat()
    pairs = expired_pairs(day)
    counts = TieCounts()
    recompute_contract_ties(pairs, counts, today=day)
    return {"pairs": len(pairs), "ended": counts.ended, "reopened": counts.reopened}
