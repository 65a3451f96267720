"""Every write to a campaign goes through these functions, whatever the path in.

They are the one place the campaign invariants hold: a demand's status changes
only with a date and a citation, an action is cited and never dated before
the campaign's start, attendance is a non-negative range, the coalition holds
organisations, a goal's counter moves only with a cited note, a goal taken
from a source cites it (and an example cites none), and a campaign keeps at
least one organiser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from receipts.evidence.dates import parse_partial_date
from receipts.evidence.models import Entity, EntityKind, Tie
from receipts.evidence.queries import surviving_entity
from receipts.evidence.services import CitationInput
from receipts.refusals import Refusal

from . import queries, signals
from .models import (
    MAX_COUNT,
    MAX_DURATION_DAYS,
    Action,
    ActionKind,
    Campaign,
    CampaignCitation,
    CampaignMembership,
    CampaignStatus,
    CoalitionMember,
    CoalitionRole,
    Demand,
    DemandStatus,
    DemandStatusChange,
    Goal,
    GoalBasis,
    GoalProgress,
    GoalUpdate,
    MemberRole,
    Visibility,
)

__all__ = [
    "CampaignError",
    "CitationInput",
    "add_campaign_member",
    "add_coalition_member",
    "add_demand",
    "change_demand_status",
    "confirm_demand_met",
    "create_campaign",
    "partial_date_before",
    "record_action",
    "remove_campaign_member",
    "remove_coalition_member",
    "reopen_demand",
    "set_goal",
    "update_campaign",
    "update_demand",
    "update_goal_counter",
]


class CampaignError(Refusal):
    """A campaign write that would break an invariant, keyed by the field it concerns."""


def partial_date_before(earlier: str, later: str) -> bool:
    """True when every day ``earlier`` may stand for comes before every day of ``later``.

    Partial dates compare on the precision they share: "2026" is not before
    "2026-02" (the year holds February), but "2025-12-01" is before "2026".
    """
    if not earlier or not later:
        return False
    shared = min(len(earlier), len(later))
    return earlier[:shared] < later[:shared]


def _check_choice(value: str, choices: type, field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise CampaignError(field, f"{value!r} is not one of {allowed}")
    return str(value)


def _text(value: Any, field: str, max_length: int | None = None, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise CampaignError(field, "may not be empty")
    if max_length is not None and len(text) > max_length:
        raise CampaignError(field, f"longer than {max_length} characters")
    return text


def _date(value: Any, field: str, *, required: bool = False) -> str:
    try:
        text = parse_partial_date(value, field)
    except ValidationError as exc:
        raise CampaignError(field, exc.params["problem"]) from exc
    if required and not text:
        raise CampaignError(field, "a date is needed (YYYY, YYYY-MM or YYYY-MM-DD)")
    return text


def _citations(citations: Iterable[CitationInput | None], what: str) -> list[CitationInput]:
    """The given citations, each of a saved source; refuses none at all."""
    out: list[CitationInput] = []
    for c in citations:
        if c is None:
            continue
        if c.source is None or c.source.pk is None:
            raise CampaignError("citation", "the cited source does not exist")
        if len(c.locator.strip()) > 500:
            raise CampaignError("locator", "longer than 500 characters")
        out.append(c)
    if not out:
        raise CampaignError("citation", f"{what} needs a citation to the source that reports it")
    return out


def _cite(citations: Sequence[CitationInput], created_by: Any, **backs: Any) -> None:
    """Store campaign citations for one thing, skipping ones it already has."""
    seen = {
        (s, q, loc)
        for s, q, loc in CampaignCitation.objects.filter(**backs).values_list(
            "source_id", "quote", "locator"
        )
    }
    fresh: list[CampaignCitation] = []
    for c in citations:
        key = (c.source.pk, c.quote.strip(), c.locator.strip())
        if key in seen:
            continue
        seen.add(key)
        fresh.append(
            CampaignCitation(
                source=c.source,
                quote=key[1],
                locator=key[2],
                created_by=created_by if getattr(created_by, "pk", None) else None,
                **backs,
            )
        )
    CampaignCitation.objects.bulk_create(fresh)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "campaign"
    slug, n = base, 2
    while Campaign.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


# --- campaigns and members ---------------------------------------------------------


@transaction.atomic
def create_campaign(
    *,
    name: str,
    slug: str | None = None,
    summary: str = "",
    targets: Iterable[Entity] = (),
    status: str = CampaignStatus.ACTIVE,
    visibility: str = Visibility.PUBLIC,
    start_date: str | None = "",
    created_by: Any = None,
) -> Campaign:
    """Create a campaign; its creator, if any, becomes its first organiser."""
    name = _text(name, "name", 200, required=True)
    _check_choice(status, CampaignStatus, "status")
    _check_choice(visibility, Visibility, "visibility")
    if slug:
        slug = slugify(slug)[:120]
        if not slug:
            raise CampaignError("slug", "use letters, digits and hyphens")
        if Campaign.objects.filter(slug=slug).exists():
            raise CampaignError("slug", f"{slug!r} is already used by another campaign")
    campaign = Campaign.objects.create(
        name=name,
        slug=slug or _unique_slug(name),
        summary=_text(summary, "summary", 10_000),
        status=status,
        visibility=visibility,
        start_date=_date(start_date, "start_date"),
    )
    campaign.targets.set(list(targets))
    if getattr(created_by, "pk", None) is not None:
        CampaignMembership.objects.create(
            campaign=campaign, user=created_by, role=MemberRole.ORGANISER
        )
    return campaign


@transaction.atomic
def update_campaign(
    campaign: Campaign,
    *,
    name: str | None = None,
    summary: str | None = None,
    targets: Iterable[Entity] | None = None,
    status: str | None = None,
    visibility: str | None = None,
    start_date: str | None = None,
) -> Campaign:
    """Change a campaign's settings; a new start may not come after an action already logged."""
    if name is not None:
        campaign.name = _text(name, "name", 200, required=True)
    if summary is not None:
        campaign.summary = _text(summary, "summary", 10_000)
    if status is not None:
        campaign.status = _check_choice(status, CampaignStatus, "status")
    if visibility is not None:
        campaign.visibility = _check_choice(visibility, Visibility, "visibility")
    if start_date is not None:
        start = _date(start_date, "start_date")
        for action in campaign.actions.all():
            if partial_date_before(action.date, start):
                raise CampaignError(
                    "start_date",
                    f"the action “{action.title}” is dated {action.date}, before {start}",
                )
        campaign.start_date = start
    campaign.save()
    if targets is not None:
        campaign.targets.set(list(targets))
    return campaign


def _organisers_left(campaign: Campaign, without_user_id: int) -> int:
    return (
        CampaignMembership.objects.filter(campaign=campaign, role=MemberRole.ORGANISER)
        .exclude(user_id=without_user_id)
        .count()
    )


@transaction.atomic
def add_campaign_member(campaign: Campaign, user: Any, role: str) -> CampaignMembership:
    """Give a user a role in the campaign, or change it; the last organiser stays one."""
    _check_choice(role, MemberRole, "role")
    membership = CampaignMembership.objects.filter(campaign=campaign, user=user).first()
    if membership is None:
        return CampaignMembership.objects.create(campaign=campaign, user=user, role=role)
    if (
        membership.role == MemberRole.ORGANISER
        and role != MemberRole.ORGANISER
        and not _organisers_left(campaign, user.pk)
    ):
        raise CampaignError("role", "the campaign's last organiser cannot step down")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_campaign_member(campaign: Campaign, user: Any) -> None:
    membership = CampaignMembership.objects.filter(campaign=campaign, user=user).first()
    if membership is None:
        return
    if membership.role == MemberRole.ORGANISER and not _organisers_left(campaign, user.pk):
        raise CampaignError("user", "the campaign's last organiser cannot be removed")
    membership.delete()


# --- demands ------------------------------------------------------------------------


@transaction.atomic
def add_demand(
    campaign: Campaign,
    text: str,
    *,
    ties: Iterable[Tie] = (),
    key: str | None = None,
    position: int | None = None,
) -> Demand:
    """Add an open demand linked to ties; with a known ``key`` the demand is updated.

    A tie that does not touch the campaign's targets is allowed: the pages and
    exports flag it (``queries.unrelated_tie_ids``) rather than refuse it.
    """
    text = _text(text, "text", 500, required=True)
    demand = Demand.objects.filter(key=key).first() if key else None
    if demand is not None and demand.campaign_id != campaign.pk:
        raise CampaignError("key", f"{key!r} names a demand of another campaign")
    if demand is None:
        if position is None:
            position = campaign.demands.count() + 1
        demand = Demand(campaign=campaign, key=key) if key else Demand(campaign=campaign)
    demand.text = text
    if position is not None:
        demand.position = position
    demand.save()
    demand.ties.set(list(ties))
    return demand


@transaction.atomic
def update_demand(
    demand: Demand,
    *,
    text: str | None = None,
    ties: Iterable[Tie] | None = None,
    position: int | None = None,
) -> Demand:
    """Change a demand's words, order or linked ties; its status changes only with a citation."""
    if text is not None:
        demand.text = _text(text, "text", 500, required=True)
    if position is not None:
        demand.position = position
    demand.save()
    if ties is not None:
        demand.ties.set(list(ties))
    return demand


@transaction.atomic
def change_demand_status(
    demand: Demand,
    status: str,
    *,
    date: str | None,
    citation: CitationInput | None = None,
    citations: Sequence[CitationInput] = (),
    note: str = "",
    decided_by: Any = None,
) -> DemandStatusChange:
    """Move a demand to a new status, logging the date, the decider and the receipts."""
    _check_choice(status, DemandStatus, "status")
    if status == demand.status:
        raise CampaignError(
            "status", f"the demand is already {demand.get_status_display().lower()}"
        )
    day = _date(date, "date", required=True)
    cited = _citations([citation, *citations], "a change of a demand's status")
    change = DemandStatusChange.objects.create(
        demand=demand,
        from_status=demand.status,
        to_status=status,
        date=day,
        note=_text(note, "note", 10_000),
        decided_by=decided_by if getattr(decided_by, "pk", None) else None,
    )
    _cite(cited, decided_by, status_change=change)
    demand.status = status
    demand.save(update_fields=["status", "updated_at"])
    # Change event (receipts.watch), sent once the change's citations are stored.
    signals.demand_status_changed.send(sender=DemandStatusChange, change=change)
    return change


@transaction.atomic
def confirm_demand_met(
    demand: Demand, *, decided_by: Any = None, date: str | None = "", note: str = ""
) -> DemandStatusChange:
    """Confirm the "met?" suggestion: the receipts of the ended ties go into the history."""
    if demand.status == DemandStatus.MET:
        raise CampaignError("status", "the demand is already met")
    evidence = queries.met_evidence(demand)
    if evidence is None:
        raise CampaignError(
            "ties",
            "not every tie linked to the demand has ended; change its status with a "
            "citation instead",
        )
    cited, suggested = evidence
    return change_demand_status(
        demand,
        DemandStatus.MET,
        date=date or suggested,
        citations=cited,
        note=note or "Every tie linked to the demand has ended.",
        decided_by=decided_by,
    )


def reopen_demand(
    demand: Demand,
    *,
    citation: CitationInput | None,
    date: str | None,
    note: str = "",
    decided_by: Any = None,
) -> DemandStatusChange:
    """Set a met, partly met or withdrawn demand open again, logged like any change."""
    if demand.status == DemandStatus.OPEN:
        raise CampaignError("status", "the demand is already open")
    return change_demand_status(
        demand, DemandStatus.OPEN, date=date, citation=citation, note=note, decided_by=decided_by
    )


# --- actions ------------------------------------------------------------------------


def _count(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise CampaignError(field, f"{value!r} is not a whole number") from exc
    if number < 0:
        raise CampaignError(field, f"attendance cannot be negative ({number})")
    if number > MAX_COUNT:
        raise CampaignError(field, f"{number} is more than {MAX_COUNT:,}")
    return number


def _organisations(entities: Iterable[Entity], field: str) -> list[Entity]:
    out = list(entities)
    for e in out:
        if e.kind != EntityKind.ORGANIZATION:
            raise CampaignError(
                field, f"{e.name} is a {e.get_kind_display().lower()}, not an organisation"
            )
    return out


@transaction.atomic
def record_action(
    campaign: Campaign,
    *,
    kind: str,
    title: str,
    date: str | None,
    citations: Sequence[CitationInput],
    place: str = "",
    attendance_min: Any = None,
    attendance_max: Any = None,
    speakers: str = "",
    participants: Iterable[Entity] = (),
    summary: str = "",
    key: str | None = None,
    action: Action | None = None,
    created_by: Any = None,
) -> Action:
    """Log an action with its receipts, or update ``action`` (or the one under ``key``).

    Refuses an action dated before the campaign's start, a negative or
    inverted attendance range, and an action without a citation (an update
    may rely on the citations the action already has).
    """
    _check_choice(kind, ActionKind, "kind")
    title = _text(title, "title", 200, required=True)
    day = _date(date, "date", required=True)
    if partial_date_before(day, campaign.start_date):
        raise CampaignError("date", f"{day} is before the campaign's start ({campaign.start_date})")
    low = _count(attendance_min, "attendance_min")
    high = _count(attendance_max, "attendance_max")
    if low is not None and high is not None and high < low:
        raise CampaignError("attendance_max", f"the high end ({high}) is below the low end ({low})")
    people = _organisations(participants, "participants")
    if action is None and key:
        action = Action.objects.filter(key=key).first()
    if action is not None and action.campaign_id != campaign.pk:
        raise CampaignError("key", "that action belongs to another campaign")
    given = [c for c in citations if c is not None]
    if action is None or not action.citations.exists():
        given = _citations(given, "an action")
    else:
        given = _citations(given, "an action") if given else []
    if action is None:
        action = Action(campaign=campaign, key=key) if key else Action(campaign=campaign)
    action.kind = kind
    action.title = title
    action.date = day
    action.place = _text(place, "place", 300)
    action.attendance_min = low
    action.attendance_max = high
    action.speakers = _text(speakers, "speakers", 5000)
    action.summary = _text(summary, "summary", 10_000)
    action.save()
    action.participants.set(people)
    if given:
        _cite(given, created_by, action=action)
    return action


# --- coalition ----------------------------------------------------------------------


def _survivor(entity: Entity) -> Entity:
    """The entity as stored now, followed through merges (the caller's copy may be stale)."""
    return surviving_entity(Entity.objects.get(pk=entity.pk))


@transaction.atomic
def add_coalition_member(
    campaign: Campaign, organisation: Entity, role: str = CoalitionRole.MEMBER
) -> CoalitionMember:
    """Put an organisation in the coalition, or change its role."""
    _check_choice(role, CoalitionRole, "role")
    organisation = _survivor(organisation)
    _organisations([organisation], "organisation")
    member, created = CoalitionMember.objects.get_or_create(
        campaign=campaign, organisation=organisation, defaults={"role": role}
    )
    if not created and member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    return member


@transaction.atomic
def remove_coalition_member(campaign: Campaign, organisation: Entity) -> bool:
    """Take the organisation out, with any member row of an entity merged into it."""
    keep = _survivor(organisation).pk
    ids = [
        m.pk
        for m in campaign.coalition.select_related("organisation")
        if surviving_entity(m.organisation).pk == keep
    ]
    deleted, _ = CoalitionMember.objects.filter(pk__in=ids).delete()
    return bool(deleted)


# --- goals --------------------------------------------------------------------------


def _duration(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        days = int(value)
    except (TypeError, ValueError) as exc:
        raise CampaignError("duration_days", f"{value!r} is not a whole number") from exc
    if not 1 <= days <= MAX_DURATION_DAYS:
        raise CampaignError("duration_days", f"{days} is not between 1 and {MAX_DURATION_DAYS}")
    return days


# Leaves a goal's current duration alone (None clears it).
KEEP = object()


@transaction.atomic
def set_goal(
    campaign: Campaign,
    *,
    metric: str,
    target: Any,
    deadline: str | None = "",
    key: str | None = None,
    goal: Goal | None = None,
    progress_source: str | None = None,
    duration_days: Any = KEEP,
    basis: str | None = None,
    basis_note: str | None = None,
    citations: Sequence[CitationInput | None] = (),
    created_by: Any = None,
) -> Goal:
    """Create a goal, or change ``goal`` (or the one under ``key``); progress is left alone.

    A goal counting sign-ups (``GoalProgress.SIGNUPS``) takes its value from the
    campaign's accepted sign-ups at once, and moves with them afterwards.

    ``basis`` says whose figure the target is. A goal from a source
    (``GoalBasis.SOURCED``) needs a citation, given here or already held; a
    goal of the campaign's own or an example cites no source, and a goal that
    stops being from a source drops the citations it had. Left out (None),
    ``basis`` and ``basis_note`` keep their values (a new goal is the campaign's own).
    """
    metric = _text(metric, "metric", 200, required=True)
    if progress_source is not None:
        _check_choice(progress_source, GoalProgress, "progress_source")
    if basis is not None:
        _check_choice(basis, GoalBasis, "basis")
    try:
        count = int(target)
    except (TypeError, ValueError) as exc:
        raise CampaignError("target", f"{target!r} is not a whole number") from exc
    if count < 1:
        raise CampaignError("target", "a goal needs a target above zero")
    if count > MAX_COUNT:
        raise CampaignError("target", f"{count} is more than {MAX_COUNT:,}")
    due = _date(deadline, "deadline")
    if goal is None and key:
        goal = Goal.objects.filter(key=key).first()
    if goal is not None and goal.campaign_id != campaign.pk:
        raise CampaignError("key", "that goal belongs to another campaign")
    if goal is None:
        goal = Goal(campaign=campaign, key=key) if key else Goal(campaign=campaign)
    goal.metric, goal.target, goal.deadline = metric, count, due
    if duration_days is not KEEP:
        goal.duration_days = _duration(duration_days)
    if progress_source is not None:
        goal.progress_source = progress_source
    if basis is not None:
        goal.basis = basis
    if basis_note is not None:
        goal.basis_note = _text(basis_note, "basis_note", 500)
    given = [c for c in citations if c is not None]
    if goal.basis == GoalBasis.SOURCED:
        if given or goal.pk is None or not goal.citations.exists():
            given = _citations(given, "a goal taken from a source")
    elif given:
        raise CampaignError(
            "citation",
            f"a goal marked “{GoalBasis(goal.basis).label.lower()}” cites no source; "
            "mark it as from a source to cite one",
        )
    if goal.progress_source == GoalProgress.SIGNUPS:
        from receipts.outreach.services import signup_count

        goal.value = signup_count(campaign)
    goal.save()
    if goal.basis == GoalBasis.SOURCED:
        if given:
            _cite(given, created_by, goal=goal)
    else:
        CampaignCitation.objects.filter(goal=goal).delete()
    return goal


@transaction.atomic
def update_goal_counter(
    goal: Goal,
    value: Any,
    *,
    citation: CitationInput | None,
    note: str = "",
    decided_by: Any = None,
) -> GoalUpdate:
    """Set a goal's counter to ``value``, with the cited note that reports it."""
    if goal.progress_source == GoalProgress.SIGNUPS:
        raise CampaignError("value", "this goal counts accepted sign-ups and moves with them")
    count = _count(value, "value")
    if count is None:
        raise CampaignError("value", "a new count is needed")
    cited = _citations([citation], "a change of a goal's progress")
    update = GoalUpdate.objects.create(
        goal=goal,
        previous_value=goal.value,
        value=count,
        note=_text(note, "note", 10_000),
        decided_by=decided_by if getattr(decided_by, "pk", None) else None,
    )
    _cite(cited, decided_by, goal_update=update)
    goal.value = count
    goal.save(update_fields=["value", "updated_at"])
    return update
