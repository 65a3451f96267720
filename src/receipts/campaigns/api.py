"""Campaign routes under /api/campaigns: public campaigns read openly, writes by token.

A private campaign answers 404 to anyone who is not a member, so its slug
cannot be probed. Writes need a token of an editor (organiser for the
campaign's own settings); a token scoped to another campaign answers 403.
Every write goes through ``campaigns.services``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from receipts.api.auth import campaign_token_auth, token_of
from receipts.api.models import ApiToken
from receipts.api.schemas import CitationIn, ErrorOut
from receipts.api.tokens import live_token
from receipts.evidence import queries as evidence
from receipts.evidence.models import Entity, Source, Tie
from receipts.evidence.services import CitationInput

from . import access, queries, services
from .models import Action, Campaign, Demand, Goal
from .schemas import (
    ActionIn,
    ActionOut,
    ActionPatch,
    CampaignIn,
    CampaignListOut,
    CampaignOut,
    CampaignPatch,
    CoalitionIn,
    CoalitionMemberOut,
    ConfirmMetIn,
    DemandIn,
    DemandOut,
    DemandPatch,
    DemandStatusIn,
    GoalIn,
    GoalOut,
    GoalPatch,
    GoalProgressIn,
)

router = Router(tags=["campaigns"])

# A read sent with a token that is not live answers 401 (``_reader``). Answers that follow
# from an operation's shape (a write's 400/401/403, a path's 404, invalid input's 422) are
# documented by ``receipts.api.openapi``.
READ_ERRORS: dict[int, type[ErrorOut]] = {401: ErrorOut}


# --- who is asking ------------------------------------------------------------------


def _reader(request: HttpRequest) -> tuple[Any, ApiToken | None]:
    """The user a read is made for: a bearer token's, else the session's (or anonymous)."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, value = header.partition(" ")
        found = live_token(value) if scheme.lower() == "bearer" else None
        if found is None:
            raise HttpError(
                401, "token: not a live API token; leave the header out to read anonymously"
            )
        return found.user, found
    return request.user, None


def _not_found(slug: str) -> HttpError:
    return HttpError(404, f"slug: no campaign has the slug {slug!r}")


def _campaign_for_read(request: HttpRequest, slug: str) -> Campaign:
    user, token = _reader(request)
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or not access.can_view(user, campaign):
        raise _not_found(slug)
    # A scoped token reads public campaigns and its own, nothing else private.
    if (
        token is not None
        and token.campaign_id not in (None, campaign.pk)
        and not campaign.is_public
    ):
        raise _not_found(slug)
    return campaign


def _campaign_for_write(request: HttpRequest, slug: str, *, organise: bool = False) -> Campaign:
    token = token_of(request)
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or not access.can_view(token.user, campaign):
        raise _not_found(slug)
    if token.campaign_id is not None and token.campaign_id != campaign.pk:
        raise HttpError(
            403, f"token: scoped to the campaign {token.campaign.slug!r}; it cannot write {slug!r}"
        )
    allowed = access.can_organise if organise else access.can_edit
    if not allowed(token.user, campaign):
        needed = "organiser" if organise else "editor or organiser"
        raise HttpError(403, f"role: writing {slug!r} needs the {needed} role in it")
    return campaign


def _demand(campaign: Campaign, demand_id: int) -> Demand:
    found = campaign.demands.filter(pk=demand_id).first()
    if found is None:
        raise HttpError(404, f"demand_id: the campaign {campaign.slug!r} has no demand {demand_id}")
    return found


def _action(campaign: Campaign, action_id: int) -> Action:
    found = campaign.actions.filter(pk=action_id).first()
    if found is None:
        raise HttpError(404, f"action_id: the campaign {campaign.slug!r} has no action {action_id}")
    return found


def _goal(campaign: Campaign, goal_id: int) -> Goal:
    found = campaign.goals.filter(pk=goal_id).first()
    if found is None:
        raise HttpError(404, f"goal_id: the campaign {campaign.slug!r} has no goal {goal_id}")
    return found


def _entity(field: str, reference: str) -> Entity:
    """One entity by slug, else by exact name, alias or identifier; never a partial match."""
    by_slug = Entity.objects.filter(slug=reference).first()
    if by_slug is not None:
        return by_slug
    matches = evidence.exact_matches(reference)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise HttpError(
            400, f"{field}: no entity has the slug, name, alias or identifier {reference!r}"
        )
    listed = "; ".join(f"{e.name} ({e.slug})" for e in matches[:10])
    raise HttpError(400, f"{field}: {reference!r} matches several entities, give a slug: {listed}")


def _entities(field: str, references: list[str]) -> list[Entity]:
    return [_entity(f"{field}[{i}]", r) for i, r in enumerate(references)]


def _ties(ids: list[int]) -> list[Tie]:
    found = Tie.objects.in_bulk(ids)
    for i, pk in enumerate(ids):
        if pk not in found:
            raise HttpError(400, f"ties[{i}]: no tie has the id {pk}")
    return [found[pk] for pk in ids]


def _citations(field: str, items: list[CitationIn]) -> list[CitationInput]:
    sources = Source.objects.in_bulk({item.source_id for item in items})
    out: list[CitationInput] = []
    for i, item in enumerate(items):
        source = sources.get(item.source_id)
        if source is None:
            raise HttpError(400, f"{field}[{i}].source_id: no source has the id {item.source_id}")
        out.append(CitationInput(source=source, quote=item.quote, locator=item.locator))
    return out


def _export(campaign: Campaign) -> dict[str, Any]:
    return queries.campaign_export(campaign)


def _parts(campaign: Campaign, name: str) -> list[dict[str, Any]]:
    """One list of the export (demands, actions, coalition, goals), without the target's ties."""
    items: list[dict[str, Any]] = queries.campaign_export(campaign, with_target_ties=False)[name]
    return items


def _part(campaign: Campaign, name: str, pk: int) -> dict[str, Any]:
    return next(item for item in _parts(campaign, name) if item["id"] == pk)


# --- campaigns ----------------------------------------------------------------------


@router.get(
    "",
    response={200: CampaignListOut, **READ_ERRORS},
    summary="List the campaigns the caller may see",
)
def list_campaigns(request: HttpRequest) -> dict[str, Any]:
    user, token = _reader(request)
    listed = access.visible_campaigns(user).order_by("name", "pk")
    items = [c for c in listed if token is None or token.campaign_id in (None, c.pk) or c.is_public]
    return {
        "items": [
            {
                "slug": c.slug,
                "name": c.name,
                "summary": c.summary,
                "status": c.status,
                "visibility": c.visibility,
                "start_date": c.start_date or None,
                "page": c.get_absolute_url(),
            }
            for c in items
        ]
    }


@router.post(
    "",
    auth=campaign_token_auth,
    response={201: CampaignOut},
    summary="Create a campaign; the token's user becomes its organiser",
)
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[dict[str, Any]]:
    token = token_of(request)
    if token.campaign_id is not None:
        raise HttpError(403, "token: a token scoped to a campaign cannot create campaigns")
    if not access.can_create_campaigns(token.user):
        raise HttpError(
            403, "user: creating a campaign needs the campaigns.add_campaign permission"
        )
    data = payload.model_dump(mode="json")
    campaign = services.create_campaign(
        name=data["name"],
        slug=data["slug"],
        summary=data["summary"],
        targets=_entities("targets", payload.targets),
        status=data["status"],
        visibility=data["visibility"],
        start_date=data["start_date"],
        created_by=token.user,
    )
    return Status(201, _export(campaign))


@router.get(
    "/{slug}",
    response={200: CampaignOut, **READ_ERRORS},
    summary="A campaign with its demands, actions, coalition, goals and every receipt",
)
def get_campaign(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _export(_campaign_for_read(request, slug))


@router.patch(
    "/{slug}",
    auth=campaign_token_auth,
    response=CampaignOut,
    summary="Change a campaign's settings (organisers)",
)
def update_campaign(request: HttpRequest, slug: str, payload: CampaignPatch) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug, organise=True)
    changes = payload.model_dump(mode="json", exclude_unset=True)
    if "targets" in changes:
        changes["targets"] = _entities("targets", changes["targets"])
    services.update_campaign(campaign, **changes)
    return _export(campaign)


# --- demands ------------------------------------------------------------------------


@router.get(
    "/{slug}/demands",
    response={200: list[DemandOut], **READ_ERRORS},
    summary="A campaign's demands with their ties, status history and receipts",
)
def list_demands(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return _parts(_campaign_for_read(request, slug), "demands")


@router.post(
    "/{slug}/demands",
    auth=campaign_token_auth,
    response={201: DemandOut},
    summary="Add an open demand, linked to the ties it asks to end",
)
def create_demand(request: HttpRequest, slug: str, payload: DemandIn) -> Status[dict[str, Any]]:
    campaign = _campaign_for_write(request, slug)
    demand = services.add_demand(
        campaign, payload.text, ties=_ties(payload.ties), position=payload.position
    )
    return Status(201, _part(campaign, "demands", demand.pk))


@router.patch(
    "/{slug}/demands/{demand_id}",
    auth=campaign_token_auth,
    response=DemandOut,
    summary="Change a demand's words, position or linked ties",
)
def update_demand(
    request: HttpRequest, slug: str, demand_id: int, payload: DemandPatch
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    demand = _demand(campaign, demand_id)
    changes = payload.model_dump(exclude_unset=True)
    services.update_demand(
        demand,
        text=changes.get("text"),
        ties=_ties(changes["ties"]) if "ties" in changes else None,
        position=changes.get("position"),
    )
    return _part(campaign, "demands", demand.pk)


@router.post(
    "/{slug}/demands/{demand_id}/status",
    auth=campaign_token_auth,
    response=DemandOut,
    summary="Change a demand's status with a date and a citation ('open' reopens it)",
)
def change_demand_status(
    request: HttpRequest, slug: str, demand_id: int, payload: DemandStatusIn
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    demand = _demand(campaign, demand_id)
    services.change_demand_status(
        demand,
        str(payload.status.value),
        date=payload.date,
        citations=_citations("citations", payload.citations),
        note=payload.note,
        decided_by=token_of(request).user,
    )
    return _part(campaign, "demands", demand.pk)


@router.post(
    "/{slug}/demands/{demand_id}/confirm-met",
    auth=campaign_token_auth,
    response=DemandOut,
    summary="Confirm that a demand is met because every linked tie has ended",
)
def confirm_demand_met(
    request: HttpRequest, slug: str, demand_id: int, payload: ConfirmMetIn
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    demand = _demand(campaign, demand_id)
    services.confirm_demand_met(
        demand, decided_by=token_of(request).user, date=payload.date, note=payload.note
    )
    return _part(campaign, "demands", demand.pk)


# --- actions ------------------------------------------------------------------------


@router.get(
    "/{slug}/actions",
    response={200: list[ActionOut], **READ_ERRORS},
    summary="A campaign's actions, oldest first, with receipts",
)
def list_actions(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return _parts(_campaign_for_read(request, slug), "actions")


@router.post(
    "/{slug}/actions",
    auth=campaign_token_auth,
    response={201: ActionOut},
    summary="Log an action with the sources reporting it",
)
def create_action(request: HttpRequest, slug: str, payload: ActionIn) -> Status[dict[str, Any]]:
    campaign = _campaign_for_write(request, slug)
    data = payload.model_dump(mode="json")
    action = services.record_action(
        campaign,
        kind=data["kind"],
        title=data["title"],
        date=data["date"],
        place=data["place"],
        attendance_min=data["attendance_min"],
        attendance_max=data["attendance_max"],
        speakers=data["speakers"],
        participants=_entities("participants", payload.participants),
        summary=data["summary"],
        citations=_citations("citations", payload.citations),
        created_by=token_of(request).user,
    )
    return Status(201, _part(campaign, "actions", action.pk))


@router.patch(
    "/{slug}/actions/{action_id}",
    auth=campaign_token_auth,
    response=ActionOut,
    summary="Change an action or add sources to it",
)
def update_action(
    request: HttpRequest, slug: str, action_id: int, payload: ActionPatch
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    action = _action(campaign, action_id)
    changes = payload.model_dump(mode="json", exclude_unset=True)
    participants = (
        _entities("participants", changes["participants"])
        if "participants" in changes
        else list(action.participants.all())
    )
    services.record_action(
        campaign,
        action=action,
        kind=changes.get("kind", action.kind),
        title=changes.get("title", action.title),
        date=changes.get("date", action.date),
        place=changes.get("place", action.place),
        attendance_min=changes.get("attendance_min", action.attendance_min),
        attendance_max=changes.get("attendance_max", action.attendance_max),
        speakers=changes.get("speakers", action.speakers),
        participants=participants,
        summary=changes.get("summary", action.summary),
        citations=_citations("citations", payload.citations),
        created_by=token_of(request).user,
    )
    return _part(campaign, "actions", action.pk)


# --- coalition ----------------------------------------------------------------------


@router.get(
    "/{slug}/coalition",
    response={200: list[CoalitionMemberOut], **READ_ERRORS},
    summary="The organisations in a campaign's coalition",
)
def list_coalition(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return _parts(_campaign_for_read(request, slug), "coalition")


@router.post(
    "/{slug}/coalition",
    auth=campaign_token_auth,
    response=list[CoalitionMemberOut],
    summary="Add an organisation to the coalition, or change its role",
)
def add_coalition_member(
    request: HttpRequest, slug: str, payload: CoalitionIn
) -> list[dict[str, Any]]:
    campaign = _campaign_for_write(request, slug)
    services.add_coalition_member(
        campaign, _entity("organisation", payload.organisation), str(payload.role.value)
    )
    return _parts(campaign, "coalition")


@router.delete(
    "/{slug}/coalition/{organisation}",
    auth=campaign_token_auth,
    response=list[CoalitionMemberOut],
    summary="Take an organisation out of the coalition",
)
def remove_coalition_member(
    request: HttpRequest, slug: str, organisation: str
) -> list[dict[str, Any]]:
    campaign = _campaign_for_write(request, slug)
    if not services.remove_coalition_member(campaign, _entity("organisation", organisation)):
        raise HttpError(404, f"organisation: {organisation!r} is not in the coalition")
    return _parts(campaign, "coalition")


# --- goals --------------------------------------------------------------------------


@router.get(
    "/{slug}/goals",
    response={200: list[GoalOut], **READ_ERRORS},
    summary="A campaign's goals with their progress and cited updates",
)
def list_goals(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    return _parts(_campaign_for_read(request, slug), "goals")


@router.post(
    "/{slug}/goals",
    auth=campaign_token_auth,
    response={201: GoalOut},
    summary="Set a goal: a metric, a target, an optional deadline or duration, and its basis",
)
def create_goal(request: HttpRequest, slug: str, payload: GoalIn) -> Status[dict[str, Any]]:
    campaign = _campaign_for_write(request, slug)
    goal = services.set_goal(
        campaign,
        metric=payload.metric,
        target=payload.target,
        deadline=payload.deadline,
        duration_days=payload.duration_days,
        basis=payload.basis,
        basis_note=payload.basis_note,
        citations=_citations("citations", payload.citations),
        created_by=token_of(request).user,
    )
    return Status(201, _part(campaign, "goals", goal.pk))


@router.patch(
    "/{slug}/goals/{goal_id}",
    auth=campaign_token_auth,
    response=GoalOut,
    summary="Change a goal's metric, target, deadline, duration or basis",
)
def update_goal(
    request: HttpRequest, slug: str, goal_id: int, payload: GoalPatch
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    goal = _goal(campaign, goal_id)
    changes = payload.model_dump(exclude_unset=True)
    services.set_goal(
        campaign,
        goal=goal,
        metric=changes.get("metric", goal.metric),
        target=changes.get("target", goal.target),
        deadline=changes.get("deadline", goal.deadline),
        duration_days=changes.get("duration_days", goal.duration_days),
        basis=changes.get("basis"),
        basis_note=changes.get("basis_note"),
        citations=_citations("citations", payload.citations),
        created_by=token_of(request).user,
    )
    return _part(campaign, "goals", goal.pk)


@router.post(
    "/{slug}/goals/{goal_id}/progress",
    auth=campaign_token_auth,
    response=GoalOut,
    summary="Update a goal's counter with a cited note",
)
def update_goal_progress(
    request: HttpRequest, slug: str, goal_id: int, payload: GoalProgressIn
) -> dict[str, Any]:
    campaign = _campaign_for_write(request, slug)
    goal = _goal(campaign, goal_id)
    citation = _citations("citation", [payload.citation])[0] if payload.citation else None
    services.update_goal_counter(
        goal, payload.value, citation=citation, note=payload.note, decided_by=token_of(request).user
    )
    return _part(campaign, "goals", goal.pk)
