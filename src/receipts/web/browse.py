"""Browse lists of entities and sources, the home page's picks, and what an entity page adds.

Reads only. The entity list filters by kind, by ties to an entity with its
components or subsidiaries, and by campaign (its targets with their families,
and its coalition); both lists come in pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from receipts.campaigns import access
from receipts.campaigns.models import Campaign, CampaignStatus, CoalitionMember, Visibility
from receipts.evidence import queries
from receipts.evidence.models import STRUCTURAL_KINDS, Citation, Entity, Source, Tie

ENTITIES_PER_PAGE = 50
SOURCES_PER_PAGE = 50
MOST_TIED_SHOWN = 12
# Candidates read from each end of the ties before the exact counts are taken.
MOST_TIED_CANDIDATES = 60


def tied_to_ids(entity: Entity) -> set[int]:
    """Ids of entities with a non-structural tie to ``entity`` or a member of its family."""
    family = set(queries.family_paths(entity.pk))
    ties = Tie.objects.exclude(kind__in=STRUCTURAL_KINDS)
    outward = ties.filter(subject_id__in=family).values_list("object_id", flat=True)
    inward = ties.filter(object_id__in=family).values_list("subject_id", flat=True)
    return (set(outward) | set(inward)) - family


def campaign_entity_ids(campaign: Campaign) -> set[int]:
    """The campaign's targets with their families, and its coalition members."""
    ids: set[int] = set()
    for target in campaign.targets.all():
        ids |= set(queries.family_paths(target.pk))
    ids |= set(
        CoalitionMember.objects.filter(campaign=campaign).values_list("organisation_id", flat=True)
    )
    return ids


def browse_entities(
    *, kind: str = "", tied_to: Entity | None = None, campaign: Campaign | None = None
) -> QuerySet[Entity]:
    qs = Entity.objects.live()
    if kind:
        qs = qs.filter(kind=kind)
    if tied_to is not None:
        qs = qs.filter(pk__in=tied_to_ids(tied_to))
    if campaign is not None:
        qs = qs.filter(pk__in=campaign_entity_ids(campaign))
    return qs.order_by("name", "pk")


def tie_counts(entity_ids: list[int]) -> dict[int, int]:
    """Non-structural ties at either end of each entity."""
    counts = dict.fromkeys(entity_ids, 0)
    ties = Tie.objects.exclude(kind__in=STRUCTURAL_KINDS)
    for end in ("subject_id", "object_id"):
        rows = (
            ties.filter(**{f"{end}__in": entity_ids})
            .values(end)
            .annotate(n=Count("id"))
            .values_list(end, "n")
        )
        for pk, n in rows:
            counts[pk] += n
    return counts


def most_tied_entities(limit: int = MOST_TIED_SHOWN) -> list[tuple[Entity, int]]:
    """The entities with the most ties (contracts, hosting, partnerships…), most first.

    The busiest ends of each direction are the candidates; their exact counts
    over both directions decide the order.
    """
    ties = Tie.objects.exclude(kind__in=STRUCTURAL_KINDS)
    candidates: set[int] = set()
    for end in ("subject_id", "object_id"):
        top = ties.values(end).annotate(n=Count("id")).order_by("-n")[:MOST_TIED_CANDIDATES]
        candidates |= {row[end] for row in top}
    counts = tie_counts(list(candidates))
    entities = Entity.objects.live().filter(pk__in=candidates).in_bulk()
    ranked = sorted(
        ((entities[pk], n) for pk, n in counts.items() if pk in entities and n > 0),
        key=lambda pair: (-pair[1], pair[0].name),
    )
    return ranked[:limit]


def featured_campaigns() -> list[Campaign]:
    """Public campaigns, running ones first."""
    order = {CampaignStatus.ACTIVE: 0, CampaignStatus.WON: 1, CampaignStatus.PAUSED: 2}
    found = list(Campaign.objects.filter(visibility=Visibility.PUBLIC))
    return sorted(found, key=lambda c: (order.get(c.status, 3), c.name))[:12]


def campaigns_targeting(
    user: Any, entity: Entity, parents: list[list[Entity]]
) -> list[tuple[Campaign, Entity]]:
    """Campaigns the user may see that target ``entity`` or an owner or parent of it.

    Each comes with the target it names, so a subsidiary's page can say
    "targets Amazon". ``parents`` are the entity's chains of owners or parents.
    """
    targets = [entity, *(p for chain in parents for p in chain)]
    by_target = {t.pk: t for t in targets}
    visible = access.visible_campaigns(user).filter(targets__in=list(by_target)).distinct()
    found: list[tuple[Campaign, Entity]] = []
    for campaign in visible.prefetch_related("targets").order_by("name"):
        named = next((t for t in campaign.targets.all() if t.pk in by_target), entity)
        found.append((campaign, named))
    return found


def data_last_changed(entity: Entity) -> datetime:
    """When the entity, one of its ties or a citation of them last changed."""
    ties = Tie.objects.filter(Q(subject=entity) | Q(object=entity))
    latest = [entity.updated_at]
    tie_latest = ties.aggregate(at=Max("updated_at"))["at"]
    if tie_latest is not None:
        latest.append(tie_latest)
    cited = Citation.objects.filter(Q(entity=entity) | Q(tie__in=ties)).aggregate(
        at=Max("created_at")
    )["at"]
    if cited is not None:
        latest.append(cited)
    return max(latest)


def browse_sources(*, kind: str = "", contains: str = "") -> QuerySet[Source]:
    qs = Source.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    for word in contains.split()[:8]:
        qs = qs.filter(Q(title__icontains=word) | Q(publisher__icontains=word))
    return qs.order_by("-published", "title", "pk")


def citation_counts(source_ids: list[int]) -> dict[int, int]:
    rows = (
        Citation.objects.filter(source_id__in=source_ids)
        .values("source_id")
        .annotate(n=Count("id"))
        .values_list("source_id", "n")
    )
    return dict(rows)
