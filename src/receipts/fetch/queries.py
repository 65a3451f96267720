"""How fresh an entity's USAspending contract data is, for its page (two queries at most)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, Max, Q, QuerySet

from receipts.evidence.models import Entity, Identifier, IdentifierScheme

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
    from receipts.ingest.models import ContractAward

    own = Identifier.objects.filter(entity=entity, scheme=IdentifierScheme.AGENCY_CODE)
    awards = ContractAward.objects.filter(recipient=entity)
    return (
        Q(agency_code__in=own.values("value"))
        | Q(agency_code__in=awards.values("awarding_sub_agency_code"))
        | Q(agency_code__in=awards.values("awarding_agency_code"))
    )


def _records_of(entity: Entity) -> QuerySet:
    from receipts.ingest.models import ContractAward

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
