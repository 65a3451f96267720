"""Contract data for pages: how fresh an entity's USAspending records are (two queries at
most), and the coming end and option dates of a campaign's target contracts (one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Exists, Max, Q, QuerySet
from django.utils import timezone

from receipts.evidence.models import Entity, Identifier, IdentifierScheme, Tie, TieKind

from .models import Subscription


@dataclass(frozen=True)
class Freshness:
    """When contract records about an entity last came in, and how."""

    as_of: dt.datetime
    by_subscription: bool
    every: str = ""


def _covering(entity: Entity) -> Q:
    """Agency codes whose downloads hold the entity's contracts: its own code (an agency),
    or those of the agencies that awarded its contracts (a recipient)."""
    from receipts.contracts.models import ContractAward

    own = Identifier.objects.filter(entity=entity, scheme=IdentifierScheme.AGENCY_CODE)
    awards = ContractAward.objects.filter(recipient=entity)
    return (
        Q(agency_code__in=own.values("value"))
        | Q(agency_code__in=awards.values("awarding_sub_agency_code"))
        | Q(agency_code__in=awards.values("awarding_agency_code"))
    )


def _records_of(entity: Entity) -> QuerySet:
    from receipts.contracts.models import ContractAward

    codes = Identifier.objects.filter(entity=entity, scheme=IdentifierScheme.AGENCY_CODE)
    return ContractAward.objects.filter(
        Q(recipient=entity)
        | Q(awarding_sub_agency_code__in=codes.values("value"))
        | Q(awarding_agency_code__in=codes.values("value"))
    )


def usaspending_freshness(entity: Entity) -> Freshness | None:
    """The newest successful fetch of a subscription covering the entity; else the newest
    finished USAspending import, when the entity has contract records; else None."""
    from receipts.ingest.models import ImportRun

    best = (
        Subscription.objects.filter(_covering(entity), last_success_at__isnull=False)
        .order_by("-last_success_at")
        .first()
    )
    if best is not None and best.last_success_at is not None:
        return Freshness(best.last_success_at, True, best.every)
    last = (
        ImportRun.objects.filter(importer="usaspending", status=ImportRun.Status.DONE)
        .filter(Exists(_records_of(entity)))
        .aggregate(at=Max("finished_at"))["at"]
    )
    return Freshness(last, False) if last is not None else None


@dataclass(frozen=True)
class ComingEnd:
    """An award behind one of a campaign's target ties, with its coming end and option dates."""

    award_key: str
    piid: str
    recipient: str
    agency: str
    current_end: str
    potential_end: str
    url: str

    @property
    def has_options(self) -> bool:
        return bool(self.potential_end) and self.potential_end > self.current_end


def coming_contract_ends(ties: Sequence[Tie], limit: int = 20) -> list[ComingEnd]:
    """The awards behind these contract ties whose current period of performance has not
    ended, soonest end first (one query when there are ties)."""
    from django.db.models.functions import Coalesce

    from receipts.contracts.models import ContractAward

    if not ties:
        return []
    pairs = {(t.subject_id, t.object_id) for t in ties if t.kind == TieKind.CONTRACT}
    today = timezone.localdate().isoformat()
    # Asked of the ends of every tie, so a page costs the same one query whatever its
    # kinds of ties; only awards of contract ties are kept.
    rows = (
        ContractAward.objects.filter(
            recipient_id__in={t.subject_id for t in ties},
            sub_agency_id__in={t.object_id for t in ties},
            current_end_date__gte=today,
        )
        .order_by("current_end_date", "award_key")
        .values_list(
            "recipient_id",
            "sub_agency_id",
            "award_key",
            "piid",
            Coalesce("recipient__name", "recipient_name"),
            Coalesce("sub_agency__name", "awarding_sub_agency_code"),
            "current_end_date",
            "potential_end_date",
            "permalink",
        )
    )
    found: list[ComingEnd] = []
    for recipient_id, sub_id, *rest in rows.iterator():
        if (recipient_id, sub_id) in pairs:
            found.append(ComingEnd(*rest))
            if len(found) >= limit:
                break
    return found
