"""Reads of campaigns: what a page, the brief and the JSON export show.

The JSON export is built here once, so ``receipts campaign show --format json``
and ``GET /api/campaigns/{slug}`` answer the same document. Nothing here
writes; visibility is decided by ``access``, never by the callers' guesswork.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from receipts.evidence import queries as evidence
from receipts.evidence.models import Citation, Entity, Tie, TieStatus
from receipts.evidence.services import CitationInput

from . import access
from .models import (
    Action,
    Campaign,
    CampaignCitation,
    CoalitionMember,
    Demand,
    DemandStatus,
    DemandStatusChange,
    Goal,
    GoalUpdate,
)

# Receipts listed under each tie on the campaign page; the brief lists them all.
RECEIPTS_SHOWN = 5

# A demand counts as won for the timeline when it reaches one of these.
WINS = (DemandStatus.MET, DemandStatus.PARTLY_MET)


def campaign_for(user: Any, slug: str) -> Campaign | None:
    """The campaign under ``slug`` if the user may see it; None whether or not it exists."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or not access.can_view(user, campaign):
        return None
    return campaign


# Campaigns point at entities (targets, coalition, participants) and follow
# merges when read: a merge moves nothing here, so undoing it needs nothing.


def survivors(entities: Iterable[Entity]) -> list[Entity]:
    """Each entity as the one it survives as after merges, each once, in the given order."""
    out: list[Entity] = []
    for entity in entities:
        survivor = evidence.surviving_entity(entity)
        if survivor.pk not in {e.pk for e in out}:
            out.append(survivor)
    return out


def targets_of(campaign: Campaign) -> list[Entity]:
    """The campaign's targets, each as the entity it survives as after merges."""
    return survivors(campaign.targets.order_by("name"))


def coalition_of(campaign: Campaign) -> list[CoalitionMember]:
    """The coalition, each organisation shown as the entity it survives as, each once."""
    out: list[CoalitionMember] = []
    seen: set[int] = set()
    for member in campaign.coalition.select_related("organisation").order_by("organisation__name"):
        member.organisation = evidence.surviving_entity(member.organisation)
        if member.organisation.pk not in seen:
            seen.add(member.organisation.pk)
            out.append(member)
    out.sort(key=lambda m: m.organisation.name)
    return out


def target_family_ids(campaign: Campaign) -> set[int]:
    """Every entity in the families or trees of the campaign's targets."""
    ids: set[int] = set()
    for target in targets_of(campaign):
        ids.update(evidence.family_paths(target.pk))
    return ids


def _target_families(targets: list[Entity]) -> dict[int, dict[int, list[int]]]:
    """Each target's ``family_paths``, read once for a whole page."""
    return {target.pk: evidence.family_paths(target.pk) for target in targets}


def unrelated_tie_ids(campaign: Campaign, ties: Iterable[Tie]) -> set[int]:
    """Ties with neither end in a target's family: allowed on a demand, but flagged."""
    family = target_family_ids(campaign)
    return {t.pk for t in ties if t.subject_id not in family and t.object_id not in family}


def suggests_met(demand: Demand) -> bool:
    """True when the demand is not yet met and every tie linked to it has ended."""
    if demand.status in (DemandStatus.MET, DemandStatus.WITHDRAWN):
        return False
    ties = list(demand.ties.all())
    return bool(ties) and all(t.status == TieStatus.ENDED for t in ties)


def _latest_citation(tie: Tie) -> Citation | None:
    # Ending a tie adds its citation last, so the newest one reports the end.
    return Citation.objects.filter(tie=tie).select_related("source").order_by("-id").first()


def met_evidence(demand: Demand) -> tuple[list[CitationInput], str] | None:
    """The receipts and date that show a demand met: every linked tie ended.

    None when the demand has no linked tie or one has not ended. The date is
    the latest end date of the ties, else the latest publication date of the
    sources reporting the ends, else empty (never invented).
    """
    ties = list(demand.ties.all())
    if not ties or any(t.status != TieStatus.ENDED for t in ties):
        return None
    cited: list[CitationInput] = []
    published: list[str] = []
    for tie in ties:
        latest = _latest_citation(tie)
        if latest is None:
            continue
        cited.append(
            CitationInput(
                latest.source,
                latest.quote,
                latest.locator or f"the source reporting the end of: {tie}",
            )
        )
        if latest.source.published:
            published.append(latest.source.published)
    ends = [t.end_date for t in ties if t.end_date]
    date = max(ends) if ends else (max(published) if published else "")
    return cited, date


def _count_demands(statuses: Iterable[str]) -> tuple[int, int]:
    rows = list(statuses)
    total = sum(1 for s in rows if s != DemandStatus.WITHDRAWN)
    return sum(1 for s in rows if s == DemandStatus.MET), total


def demand_counts(campaign: Campaign) -> tuple[int, int]:
    """(met, total) demands; withdrawn demands are left out of the total."""
    return _count_demands(campaign.demands.values_list("status", flat=True))


def with_demand_counts(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """The campaigns with ``demands_met`` and ``demands_total`` (as ``demand_counts``)
    counted in the same query."""
    return campaigns.annotate(
        demands_met=Count("demands", filter=Q(demands__status=DemandStatus.MET), distinct=True),
        demands_total=Count(
            "demands", filter=~Q(demands__status=DemandStatus.WITHDRAWN), distinct=True
        ),
    )


@dataclass
class TimelineEntry:
    """An action or a win, placed on the campaign's timeline by its partial date."""

    date: str
    action: Action | None = None
    change: DemandStatusChange | None = None

    @property
    def is_win(self) -> bool:
        return self.change is not None


@dataclass
class CampaignView:
    """Everything a campaign page, its brief or its export shows, loaded together."""

    campaign: Campaign
    targets: list[Entity]
    target_ties: list[evidence.RolledTie]
    demands: list[Demand]
    actions: list[Action]
    coalition: list[CoalitionMember]
    goals: list[Goal]
    demands_met: int
    demands_total: int
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def demands_text(self) -> str:
        plural = "" if self.demands_total == 1 else "s"
        return f"{self.demands_met} of {self.demands_total} demand{plural} met"


def _campaign_citations() -> Prefetch[Any]:
    return Prefetch(
        "citations", queryset=CampaignCitation.objects.select_related("source").order_by("id")
    )


def campaign_view(
    campaign: Campaign,
    *,
    citations_limit: int | None = RECEIPTS_SHOWN,
    with_target_ties: bool = True,
) -> CampaignView:
    """Load a campaign for reading; ``citations_limit=None`` loads every receipt (brief, export).

    Without ``with_target_ties`` the targets' rolled-up ties are not loaded:
    the demands, actions, coalition and goals alone are cheap to read.
    """
    # A fixed number of queries per target, and none per demand, tie or action:
    # families are walked once, citations and counts are read for all ties at once.
    targets = targets_of(campaign)
    families = _target_families(targets)
    seen: set[int] = set()
    target_ties: list[evidence.RolledTie] = []
    for target in targets if with_target_ties else []:
        for rt in evidence.rollup_ties(
            target, rollup=True, citations_limit=citations_limit, family=families[target.pk]
        ):
            if rt.tie.pk not in seen:
                seen.add(rt.tie.pk)
                target_ties.append(rt)

    demands = list(
        campaign.demands.prefetch_related(
            Prefetch(
                "ties",
                queryset=Tie.objects.select_related("subject", "object")
                .annotate(citation_count=Count("citations"))
                .order_by("id"),
            ),
            Prefetch(
                "history",
                queryset=DemandStatusChange.objects.prefetch_related(
                    _campaign_citations()
                ).order_by("recorded_at", "id"),
            ),
        ).order_by("position", "id")
    )
    family = {pk for paths in families.values() for pk in paths}
    linked = {tie.pk: tie for demand in demands for tie in demand.ties.all()}
    evidence.prefetch_first_citations(list(linked.values()), citations_limit)
    for demand in demands:
        ties = list(demand.ties.all())
        for tie in ties:
            # One tie linked to two demands is one row of the prefetch, two objects.
            tie._prefetched_objects_cache = linked[tie.pk]._prefetched_objects_cache  # type: ignore[attr-defined]
            tie.related_to_target = (  # type: ignore[attr-defined]
                tie.subject_id in family or tie.object_id in family
            )
        demand.suggests_met = suggests_met(demand)  # type: ignore[attr-defined]
        demand.linked_ties = ties  # type: ignore[attr-defined]

    actions = list(
        campaign.actions.prefetch_related(
            _campaign_citations(),
            Prefetch("participants", queryset=Entity.objects.order_by("name")),
        ).order_by("date", "id")
    )
    for action in actions:
        action.organisations = survivors(action.participants.all())  # type: ignore[attr-defined]
    coalition = coalition_of(campaign)
    goals = list(
        campaign.goals.prefetch_related(
            _campaign_citations(),
            Prefetch(
                "updates",
                queryset=GoalUpdate.objects.prefetch_related(_campaign_citations()).order_by(
                    "recorded_at", "id"
                ),
            ),
        ).order_by("id")
    )
    met, total = _count_demands(d.status for d in demands)

    entries: list[tuple[str, Any, int, TimelineEntry]] = []
    for action in actions:
        entries.append(
            (action.date, action.created_at, 0, TimelineEntry(action.date, action=action))
        )
    for demand in demands:
        for change in demand.history.all():
            if change.to_status in WINS:
                entries.append(
                    (change.date, change.recorded_at, 1, TimelineEntry(change.date, change=change))
                )
    # Partial dates sort as text ("2025-12-01" < "2026"); equal dates keep the
    # order in which they were recorded.
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return CampaignView(
        campaign=campaign,
        targets=targets,
        target_ties=target_ties,
        demands=demands,
        actions=actions,
        coalition=coalition,
        goals=goals,
        demands_met=met,
        demands_total=total,
        timeline=[e[3] for e in entries],
    )


# --- the JSON export ----------------------------------------------------------------


def _entity_ref(entity: Entity) -> dict[str, Any]:
    return {"slug": entity.slug, "name": entity.name}


def _source_record(source: Any, quote: str, locator: str) -> dict[str, Any]:
    return {
        "source_id": source.pk,
        "title": source.title,
        "publisher": source.publisher,
        "published": source.published or None,
        "url": source.url or None,
        "archive_sha256": source.archive_sha256 or None,
        "quote": quote,
        "locator": locator,
    }


def _citation_records(citations: Iterable[Any]) -> list[dict[str, Any]]:
    return [_source_record(c.source, c.quote, c.locator) for c in citations]


def _tie_record(tie: Tie) -> dict[str, Any]:
    return {
        "id": tie.pk,
        "subject": _entity_ref(tie.subject),
        "kind": tie.kind,
        "object": _entity_ref(tie.object),
        "status": tie.status,
        "start_date": tie.start_date or None,
        "end_date": tie.end_date or None,
        "summary": tie.summary,
        "citations": _citation_records(tie.citations.all()),
    }


def campaign_export(campaign: Campaign, *, with_target_ties: bool = True) -> dict[str, Any]:
    """The campaign as one JSON-ready document, with every receipt.

    Members and who decided what are left out: the export is what a campaign
    hands to the public, a journalist or another tool. Without
    ``with_target_ties`` its ``target_ties`` list is empty (for answers that
    need only a demand, an action or a goal).
    """
    view = campaign_view(campaign, citations_limit=None, with_target_ties=with_target_ties)
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "summary": campaign.summary,
        "status": campaign.status,
        "visibility": campaign.visibility,
        "start_date": campaign.start_date or None,
        "page": campaign.get_absolute_url(),
        "targets": [{**_entity_ref(e), "kind": e.kind} for e in view.targets],
        "target_ties": [{**_tie_record(rt.tie), "path": rt.path_text()} for rt in view.target_ties],
        "demands_met": view.demands_met,
        "demands_total": view.demands_total,
        "demands": [
            {
                "id": d.pk,
                "text": d.text,
                "position": d.position,
                "status": d.status,
                "suggested_status": DemandStatus.MET.value if d.suggests_met else None,  # type: ignore[attr-defined]
                "ties": [
                    {**_tie_record(t), "related_to_target": t.related_to_target}  # type: ignore[attr-defined]
                    for t in d.linked_ties  # type: ignore[attr-defined]
                ],
                "history": [
                    {
                        "from_status": h.from_status,
                        "to_status": h.to_status,
                        "date": h.date,
                        "note": h.note,
                        "recorded_at": h.recorded_at.isoformat(),
                        "citations": _citation_records(h.citations.all()),
                    }
                    for h in d.history.all()
                ],
            }
            for d in view.demands
        ],
        "actions": [
            {
                "id": a.pk,
                "kind": a.kind,
                "title": a.title,
                "date": a.date,
                "place": a.place,
                "attendance_min": a.attendance_min,
                "attendance_max": a.attendance_max,
                "speakers": a.speakers,
                "participants": [_entity_ref(e) for e in a.organisations],  # type: ignore[attr-defined]
                "summary": a.summary,
                "citations": _citation_records(a.citations.all()),
            }
            for a in view.actions
        ],
        "coalition": [
            {"organisation": _entity_ref(m.organisation), "role": m.role} for m in view.coalition
        ],
        "goals": [
            {
                "id": g.pk,
                "metric": g.metric,
                "target": g.target,
                "deadline": g.deadline or None,
                "duration_days": g.duration_days,
                "basis": g.basis,
                "basis_label": g.get_basis_display(),
                "basis_note": g.basis_note,
                "citations": _citation_records(g.citations.all()),
                "progress_source": g.progress_source,
                "value": g.value,
                "percent": g.percent,
                "updates": [
                    {
                        "previous_value": u.previous_value,
                        "value": u.value,
                        "note": u.note,
                        "recorded_at": u.recorded_at.isoformat(),
                        "citations": _citation_records(u.citations.all()),
                    }
                    for u in g.updates.all()
                ],
            }
            for g in view.goals
        ],
    }
