"""Reads of the watch app: which events a watchlist sees, and how an event is shown.

A watched entity covers its family or tree as the rollups see it today
(``evidence.queries.family_paths``: owned companies, agency components), and
entities an editor merged into one of those. Demand events of a private
campaign reach only watchlists whose owner may see the campaign.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse

from receipts.campaigns.access import visible_campaigns
from receipts.campaigns.models import Campaign
from receipts.evidence import bulk
from receipts.evidence.models import Entity, Tie, TieKind
from receipts.evidence.queries import family_paths, surviving_entity

from .models import ChangeEvent, Channel, EventEntity, EventKind, Watchlist


def watched_entity_ids(watchlist: Watchlist) -> set[int]:
    """The watched entities with their families and components, and entities merged into them.

    A watched entity that was merged away is followed to the entity it was
    merged into; events keep the entities involved when they were recorded,
    so entities merged into the family bring their older events along.
    """
    ids: set[int] = set()
    for entity in watchlist.entities.all():
        survivor = surviving_entity(entity)
        if survivor.pk not in ids:
            ids.update(family_paths(survivor.pk))
        ids.add(entity.pk)
    merged = list(ids)
    for i in range(0, len(merged), 900):
        ids.update(
            Entity.objects.filter(merged_into__in=merged[i : i + 900]).values_list("pk", flat=True)
        )
    return ids


def events_for(
    watchlist: Watchlist, entity_ids: Iterable[int] | None = None
) -> QuerySet[ChangeEvent]:
    """Events touching the watchlist's entities (rollups included) that its owner may see."""
    ids = list(watched_entity_ids(watchlist) if entity_ids is None else entity_ids)
    touching = EventEntity.objects.filter(entity_id__in=ids).values("event_id")
    visible = Q(campaign__isnull=True) | Q(campaign__in=visible_campaigns(watchlist.owner))
    # Contract-ending warnings come at the lead times the watchlist asks for.
    lead_times = ~Q(kind=EventKind.CONTRACT_ENDING) | Q(
        lead_days__in=list(watchlist.ending_warning_days or [])
    )
    return ChangeEvent.objects.filter(pk__in=touching).filter(visible).filter(lead_times)


def recent_events(watchlist: Watchlist, limit: int | None = None) -> list[ChangeEvent]:
    """The newest events of a watchlist, newest first (what its Atom feed shows)."""
    count = settings.WATCH_FEED_ENTRIES if limit is None else limit
    return list(events_for(watchlist).order_by("-occurred_at", "-id")[:count])


def watchlists_of(user: Any) -> QuerySet[Watchlist]:
    return Watchlist.objects.filter(owner=user).prefetch_related("entities", "channels")


def event_paths(events: Sequence[ChangeEvent]) -> dict[int, str]:
    """The site path each event links to: its source (source events), its tie, the contract tie of an award, or the campaign.

    An award's contract tie is recomputed after the award is stored, so it is
    looked up here rather than kept on the event. A link whose row is gone
    falls back to an entity page, then to the home page.
    """
    paths: dict[int, str] = {}
    award_pairs = {
        (e.subject_id, e.object_id)
        for e in events
        if e.kind == EventKind.AWARD_NEW and e.subject_id and e.object_id
    }
    contract_ties: dict[tuple[int, int], int] = {}
    # Read by subject in chunks and matched here: one condition per pair made an
    # expression too deep for SQLite once an import announced a thousand awards.
    subjects = sorted({subject_id for subject_id, _ in award_pairs})
    for pk, kind, subject_id, object_id in sorted(
        bulk.select_in(Tie, ["id", "kind", "subject_id", "object_id"], "subject_id", subjects)
    ):
        if kind == TieKind.CONTRACT and (subject_id, object_id) in award_pairs:
            contract_ties.setdefault((subject_id, object_id), pk)
    entity_ids = sorted(
        {e.subject_id for e in events if e.subject_id}
        | {e.object_id for e in events if e.object_id}
    )
    slugs = dict(bulk.select_in(Entity, ["id", "slug"], "id", entity_ids))
    campaigns = dict(
        bulk.select_in(
            Campaign, ["id", "slug"], "id", sorted({e.campaign_id for e in events if e.campaign_id})
        )
    )
    for e in events:
        if e.kind in (EventKind.SOURCE_CHANGED, EventKind.SOURCE_GONE) and e.source_id:
            paths[e.pk] = reverse("source", args=[e.source_id])
        elif e.tie_id is not None:
            paths[e.pk] = reverse("tie", args=[e.tie_id])
        elif (e.subject_id, e.object_id) in contract_ties:
            paths[e.pk] = reverse("tie", args=[contract_ties[(e.subject_id, e.object_id)]])
        elif e.campaign_id in campaigns:
            paths[e.pk] = reverse("campaign", args=[campaigns[e.campaign_id]])
        elif e.subject_id in slugs:
            paths[e.pk] = reverse("entity", args=[slugs[e.subject_id]])
        else:
            paths[e.pk] = "/"
    return paths


def site_url(path: str = "/") -> str:
    """An absolute address on the site, for links in webhooks and emails (``RECEIPTS_SITE_URL``)."""
    return settings.WATCH_SITE_URL.rstrip("/") + path


def event_record(event: ChangeEvent, url: str) -> dict[str, Any]:
    """An event as JSON, the way webhooks and ``receipts watch events --format json`` give it."""

    def end(entity_id: int | None, name: str) -> dict[str, Any] | None:
        if entity_id is None and not name:
            return None
        return {"id": entity_id, "name": name}

    return {
        "id": str(event.uid),
        "kind": event.kind,
        "summary": event.summary,
        "date": event.date,
        "occurred_at": event.occurred_at.isoformat(),
        "url": url,
        "subject": end(event.subject_id, event.subject_name),
        "object": end(event.object_id, event.object_name),
        "amount": None if event.amount is None else str(event.amount),
        "currency": event.currency,
        "citation": {
            "source": event.source_title,
            "url": event.source_url,
            "locator": event.citation_locator,
            "quote": event.citation_quote,
        },
    }


def event_records(events: Sequence[ChangeEvent]) -> list[dict[str, Any]]:
    paths = event_paths(events)
    return [event_record(e, site_url(paths[e.pk])) for e in events]


def all_events(since: Any = None) -> QuerySet[ChangeEvent]:
    """Every event, oldest first, from ``since`` (a date or time) on."""
    qs = ChangeEvent.objects.order_by("occurred_at", "id")
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    return qs


def channels_to_send() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).select_related("watchlist__owner").order_by("id")
