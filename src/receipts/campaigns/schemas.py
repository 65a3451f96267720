"""The shapes the campaigns API reads and writes.

The output shapes describe the document ``queries.campaign_export`` builds,
field for field, so the API and ``receipts campaign show --format json`` agree.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, field_validator

from receipts.api.schemas import (
    PARTIAL_DATE,
    CitationIn,
    EntityRef,
    EntityReference,
    PartialDate,
    PatchIn,
    RowId,
)
from receipts.evidence.models import EntityKind, TieKind, TieStatus

from .models import (
    MAX_COUNT,
    MAX_DURATION_DAYS,
    ActionKind,
    CampaignStatus,
    CoalitionRole,
    DemandStatus,
    GoalBasis,
    GoalProgress,
    Visibility,
)

# --- output -------------------------------------------------------------------------


class ReceiptOut(Schema):
    source_id: int = Field(description="The id of the cited source (see /api/sources/{id}).")
    title: str = Field(description="The source's title.")
    publisher: str = Field(description="Who published the source; empty if unknown.")
    published: str | None = Field(description=f"Publication date. {PARTIAL_DATE}")
    url: str | None = Field(description="Where the source is published; null if unknown.")
    archive_sha256: str | None = Field(
        description="SHA-256 of the archived copy of the source; null when none is stored."
    )
    quote: str = Field(description="The words in the source that back the claim.")
    locator: str = Field(description="Where in the source: page, paragraph, record key.")


class TargetOut(EntityRef):
    kind: EntityKind = Field(description="What sort of entity the target is.")


class CampaignTieOut(Schema):
    id: int = Field(description="The tie's id (see /api/ties/{id}).")
    subject: EntityRef = Field(description="The entity the tie goes from.")
    kind: TieKind = Field(description="What sort of tie this is.")
    object: EntityRef = Field(description="The entity the tie goes to.")
    status: TieStatus = Field(description="Whether the tie is active, ended, announced or alleged.")
    start_date: str | None = Field(description=f"When the tie began. {PARTIAL_DATE}")
    end_date: str | None = Field(description=f"When the tie ended. {PARTIAL_DATE}")
    summary: str = Field(description="A short account of the tie; empty if none.")
    citations: list[ReceiptOut] = Field(description="Every source behind the tie.")


class TargetTieOut(CampaignTieOut):
    path: str = Field(description="How the tie is reached from the target, through its family.")


class DemandTieOut(CampaignTieOut):
    related_to_target: bool = Field(
        description="False when neither end of the tie is in a target's family: allowed, "
        "but flagged for a second look."
    )


class StatusChangeOut(Schema):
    from_status: DemandStatus = Field(description="The status before the change.")
    to_status: DemandStatus = Field(description="The status after the change.")
    date: str = Field(description=f"When the change happened. {PARTIAL_DATE}")
    note: str = Field(description="The editor's note; empty if none.")
    recorded_at: str = Field(description="When the change was recorded (ISO 8601).")
    citations: list[ReceiptOut] = Field(description="The sources behind the change; never empty.")


class DemandOut(Schema):
    id: int = Field(description="The demand's id within its campaign's addresses.")
    text: str = Field(description="The demand.")
    position: int = Field(description="Its place in the list of demands.")
    status: DemandStatus = Field(description="Open, met, partly met or withdrawn.")
    suggested_status: DemandStatus | None = Field(
        description="'met' when every linked tie has ended but no editor has confirmed it yet."
    )
    ties: list[DemandTieOut] = Field(description="The ties the demand asks to end.")
    history: list[StatusChangeOut] = Field(description="Every change of status, oldest first.")


class ActionOut(Schema):
    id: int = Field(description="The action's id within its campaign's addresses.")
    kind: ActionKind = Field(description="What sort of action it was.")
    title: str = Field(description="A short name for the timeline.")
    date: str = Field(description=f"When it happened. {PARTIAL_DATE}")
    place: str = Field(description="Where it happened; empty if unknown.")
    attendance_min: int | None = Field(description="The low end of the reported attendance.")
    attendance_max: int | None = Field(description="The high end of the reported attendance.")
    speakers: str = Field(description="Speakers, in their public role only.")
    participants: list[EntityRef] = Field(description="Participating organisations.")
    summary: str = Field(description="What happened.")
    citations: list[ReceiptOut] = Field(description="The sources reporting it; never empty.")


class CoalitionMemberOut(Schema):
    organisation: EntityRef = Field(description="The organisation.")
    role: CoalitionRole = Field(description="Its role in the coalition.")


class GoalUpdateOut(Schema):
    previous_value: int = Field(description="The count before the update.")
    value: int = Field(description="The count after the update.")
    note: str = Field(description="The editor's note.")
    recorded_at: str = Field(description="When the update was recorded (ISO 8601).")
    citations: list[ReceiptOut] = Field(description="The sources behind the update; never empty.")


class GoalOut(Schema):
    id: int = Field(description="The goal's id within its campaign's addresses.")
    metric: str = Field(description="What is counted.")
    target: int = Field(le=MAX_COUNT, description="The count aimed for.")
    deadline: str | None = Field(description=f"The deadline, if any. {PARTIAL_DATE}")
    duration_days: int | None = Field(
        description="How many days the goal runs, when its length is known but not its dates."
    )
    basis: GoalBasis = Field(
        description="Whose figure the target is: 'own' (set by the campaign), 'sourced' "
        "(reported by the cited sources) or 'example' (an example no source gives)."
    )
    basis_label: str = Field(description="The basis in words, as the pages show it.")
    basis_note: str = Field(description="Shown beside the goal, e.g. why an example was set.")
    citations: list[ReceiptOut] = Field(
        description="The sources the target comes from; never empty for a sourced goal, "
        "always empty otherwise."
    )
    progress_source: GoalProgress = Field(description="Where the progress comes from.")
    value: int = Field(description="The count so far.")
    percent: int = Field(description="Progress as a whole percentage, at most 100.")
    updates: list[GoalUpdateOut] = Field(description="Every cited update, oldest first.")


class CampaignSummaryOut(Schema):
    slug: str = Field(description="The campaign's slug, used in its addresses.")
    name: str = Field(description="The campaign's name.")
    summary: str = Field(description="What the campaign is about.")
    status: CampaignStatus = Field(description="Active, paused, won or ended.")
    visibility: Visibility = Field(description="Public, or private to its members.")
    start_date: str | None = Field(description=f"When the campaign began. {PARTIAL_DATE}")
    page: str = Field(description="Address of the campaign's page on this site.")


class CampaignOut(CampaignSummaryOut):
    targets: list[TargetOut] = Field(description="The entities the campaign presses.")
    target_ties: list[TargetTieOut] = Field(
        description="The ties of the targets with their subsidiaries or components, with receipts."
    )
    demands_met: int = Field(description="How many demands are met.")
    demands_total: int = Field(
        description="How many demands there are, leaving out withdrawn ones."
    )
    demands: list[DemandOut] = Field(description="The demands in order.")
    actions: list[ActionOut] = Field(description="The actions, oldest first.")
    coalition: list[CoalitionMemberOut] = Field(description="The organisations in the coalition.")
    goals: list[GoalOut] = Field(description="The campaign's goals.")


class CampaignListOut(Schema):
    items: list[CampaignSummaryOut] = Field(description="The campaigns the caller may see.")


# --- input --------------------------------------------------------------------------


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


Text = Annotated[str, Field(max_length=10_000)]


class CampaignIn(Schema):
    name: str = Field(max_length=200, description="The campaign's name.")
    slug: str | None = Field(
        default=None,
        max_length=120,
        description="The slug to use; made from the name when left out.",
    )
    summary: Text = Field(default="", description="What the campaign is about.")
    targets: list[EntityReference] = Field(
        default_factory=list, max_length=50, description="The entities the campaign presses."
    )
    status: CampaignStatus = Field(default=CampaignStatus.ACTIVE, description="The status.")
    visibility: Visibility = Field(default=Visibility.PUBLIC, description="Public or private.")
    start_date: PartialDate = Field(default="", description="When the campaign began.")


class CampaignPatch(PatchIn):
    name: str | None = Field(default=None, max_length=200, description="A new name.")
    summary: Text | None = Field(default=None, description="A new summary.")
    targets: list[EntityReference] | None = Field(
        default=None, max_length=50, description="The full new list of targets."
    )
    status: CampaignStatus | None = Field(default=None, description="A new status.")
    visibility: Visibility | None = Field(default=None, description="Public or private.")
    start_date: PartialDate | None = Field(
        default=None, description="A new start; refused if an action is dated before it."
    )

    @field_validator("name", "summary", "targets", "status", "visibility", "start_date")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


class DemandIn(Schema):
    text: str = Field(max_length=500, description="The demand, as the campaign words it.")
    ties: list[RowId] = Field(
        default_factory=list,
        max_length=200,
        description="Ids of the ties the demand asks to end. A tie of an unrelated entity is "
        "accepted and flagged (related_to_target false).",
    )
    position: int | None = Field(default=None, ge=0, le=32767, description="Order on the page.")


class DemandPatch(PatchIn):
    text: str | None = Field(default=None, max_length=500, description="New words.")
    ties: list[RowId] | None = Field(
        default=None, max_length=200, description="The full new list of linked tie ids."
    )
    position: int | None = Field(default=None, ge=0, le=32767, description="A new position.")

    @field_validator("text", "ties")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


class DemandStatusIn(Schema):
    status: DemandStatus = Field(description="The new status; 'open' reopens the demand.")
    date: PartialDate = Field(description="When the change happened, as the source reports it.")
    note: Text = Field(default="", description="A note for the history.")
    citations: list[CitationIn] = Field(
        default_factory=list,
        max_length=50,
        description="The sources reporting the change. Required: a change without one is refused.",
    )


class ConfirmMetIn(Schema):
    date: PartialDate = Field(
        default="",
        description="When the demand was met; by default the latest end date of its ties.",
    )
    note: Text = Field(default="", description="A note for the history.")


class ActionIn(Schema):
    kind: ActionKind = Field(description="What sort of action it was.")
    title: str = Field(max_length=200, description="A short name for the timeline.")
    date: PartialDate = Field(description="When it happened; not before the campaign's start.")
    place: str = Field(default="", max_length=300, description="Where it happened.")
    attendance_min: int | None = Field(
        default=None, le=MAX_COUNT, description="The low end of attendance."
    )
    attendance_max: int | None = Field(
        default=None, le=MAX_COUNT, description="The high end of attendance."
    )
    speakers: str = Field(
        default="", max_length=5000, description="Speakers, in their public role only."
    )
    participants: list[EntityReference] = Field(
        default_factory=list, max_length=200, description="Participating organisations."
    )
    summary: Text = Field(default="", description="What happened.")
    citations: list[CitationIn] = Field(
        default_factory=list,
        max_length=50,
        description="The sources reporting the action. Required: an action without one is refused.",
    )


class ActionPatch(PatchIn):
    kind: ActionKind | None = Field(default=None, description="A new kind.")
    title: str | None = Field(default=None, max_length=200, description="A new title.")
    date: PartialDate | None = Field(default=None, description="A new date.")
    place: str | None = Field(default=None, max_length=300, description="A new place.")
    attendance_min: int | None = Field(
        default=None, le=MAX_COUNT, description="A new low end; null clears it."
    )
    attendance_max: int | None = Field(
        default=None, le=MAX_COUNT, description="A new high end; null clears it."
    )
    speakers: str | None = Field(default=None, max_length=5000, description="New speakers.")
    participants: list[EntityReference] | None = Field(
        default=None, max_length=200, description="The full new list of participants."
    )
    summary: Text | None = Field(default=None, description="A new summary.")
    citations: list[CitationIn] = Field(
        default_factory=list, max_length=50, description="More sources to add to the action."
    )

    @field_validator("kind", "title", "date", "place", "speakers", "participants", "summary")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


class CoalitionIn(Schema):
    organisation: EntityReference = Field(description="An entity of kind organisation.")
    role: CoalitionRole = Field(default=CoalitionRole.MEMBER, description="Its role.")


Days = Annotated[int, Field(ge=1, le=MAX_DURATION_DAYS)]


class GoalIn(Schema):
    metric: str = Field(max_length=200, description="What is counted.")
    target: int = Field(le=MAX_COUNT, description="The count aimed for; above zero.")
    deadline: PartialDate = Field(default="", description="The deadline, if any.")
    duration_days: Days | None = Field(
        default=None, description="How many days the goal runs, if known."
    )
    basis: GoalBasis = Field(
        default=GoalBasis.OWN,
        description="'own' (set by the campaign), 'sourced' (needs citations) or 'example' "
        "(no source gives it; marked as an example wherever shown).",
    )
    basis_note: str = Field(
        default="", max_length=500, description="Shown beside the goal, e.g. why it is an example."
    )
    citations: list[CitationIn] = Field(
        default_factory=list,
        max_length=50,
        description="The sources the target comes from. Required for a sourced goal, refused "
        "for any other.",
    )


class GoalPatch(PatchIn):
    metric: str | None = Field(default=None, max_length=200, description="A new metric.")
    target: int | None = Field(default=None, le=MAX_COUNT, description="A new target.")
    deadline: PartialDate | None = Field(default=None, description="A new deadline.")
    duration_days: Days | None = Field(
        default=None, description="A new duration in days; null clears it."
    )
    basis: GoalBasis | None = Field(
        default=None,
        description="A new basis; a goal that stops being sourced drops its citations.",
    )
    basis_note: str | None = Field(default=None, max_length=500, description="A new note.")
    citations: list[CitationIn] = Field(
        default_factory=list,
        max_length=50,
        description="More sources for a sourced goal.",
    )

    @field_validator("metric", "target", "deadline", "basis", "basis_note")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


class GoalProgressIn(Schema):
    value: int = Field(le=MAX_COUNT, description="The new count.")
    note: Text = Field(default="", description="What the count is based on.")
    citation: CitationIn | None = Field(
        default=None, description="The source reporting the count. Required."
    )
