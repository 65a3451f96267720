"""The shapes the API reads and writes, and the builders that fill them from the evidence graph.

Partial dates travel as the strings they are stored as (``2026``, ``2026-02``)
and amounts as decimal strings, so nothing is rounded or invented on the way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from django.db import models
from ninja import Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from receipts.evidence import records
from receipts.evidence.models import (
    LONG_TEXT_MAX_LENGTH,
    Citation,
    Entity,
    EntityKind,
    IdentifierScheme,
    Source,
    SourceKind,
    Tie,
    TieKind,
    TieStatus,
)
from receipts.evidence.queries import RolledTie

PARTIAL_DATE = "A partial date: YYYY, YYYY-MM or YYYY-MM-DD, kept exactly as given."


def _max_length(model: type[models.Model], name: str) -> int | None:
    """The column width of a model field, so input is refused before the database sees it."""
    return getattr(model._meta.get_field(name), "max_length", None)


def _or_none(value: str) -> str | None:
    return value or None


# --- output -----------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str = Field(description="What was wrong, starting with the field it concerns.")


class RefusalOut(ErrorOut):
    errors: dict[str, list[str]] | None = Field(
        default=None,
        description="When a write is refused: each field named and what is wrong with it, "
        "e.g. {'end_date': ['2024 is before start_date 2025']}; '__all__' holds what "
        "concerns no one field.",
    )


class ValidationIssueOut(Schema):
    type: str = Field(description="The kind of problem: missing, string_too_long, int_parsing...")
    loc: list[str | int] = Field(
        description="Where: the part of the request (path, query or body), then the field "
        "and, inside lists, the position, e.g. ['query', 'limit']."
    )
    msg: str = Field(description="What is wrong, in words.")
    ctx: dict[str, Any] | None = Field(
        default=None, description="The rule broken, when it has values, e.g. {'le': 200}."
    )


class ValidationErrorOut(Schema):
    detail: list[ValidationIssueOut] = Field(
        description="Every problem found in the request's path, query and body."
    )


class EntityRef(Schema):
    slug: str = Field(description="The entity's slug, used in its API and page addresses.")
    name: str = Field(description="The entity's name.")


class AmbiguousOut(ErrorOut):
    candidates: list[EntityRef] = Field(description="The entities the name could mean.")


class IdentifierOut(Schema):
    scheme: IdentifierScheme = Field(description="The identifier scheme (UEI, ticker, ...).")
    value: str = Field(description="The identifier in its canonical form.")


class EntitySummaryOut(EntityRef):
    kind: EntityKind = Field(description="What sort of entity this is.")
    aliases: list[str] = Field(description="Other names: abbreviations, former names, spellings.")
    country: str | None = Field(description="ISO 3166-1 alpha-2 code, lower case; null if unknown.")


class EntityOut(EntitySummaryOut):
    summary: str = Field(description="A short description; empty if none.")
    identifiers: list[IdentifierOut] = Field(description="Strong identifiers of the entity.")
    parents: list[list[EntityRef]] = Field(
        description="Chains of owners or parent bodies above the entity, nearest first, "
        "through active ownership and part_of ties."
    )
    page: str = Field(description="Address of the entity's public page on this site.")


class EntityPageOut(Schema):
    items: list[EntitySummaryOut] = Field(description="The entities on this page.")
    limit: int = Field(description="The most entities a page holds.")
    offset: int = Field(description="How many entities come before this page.")
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class CitationOut(Schema):
    id: int = Field(description="The citation's id.")
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


# Citations given per tie in a list of ties; a tie's own address lists them all.
CITATIONS_IN_LISTS = 20


class ContractTotalsOut(Schema):
    obligated: str = Field(
        description="Sum of federal_action_obligation over the transactions stored for this "
        "recipient and sub-agency (de-obligations included), in USD as a decimal string; an "
        "award known only from its summary counts its total_obligated_amount."
    )
    award_count: int = Field(description="Awards behind the tie.")
    transaction_count: int = Field(description="Transactions (actions) behind the tie.")
    first_action_date: str = Field(description="The earliest action date, YYYY-MM-DD.")
    last_action_date: str = Field(description="The latest action date, YYYY-MM-DD.")
    by_fiscal_year: dict[str, str] = Field(
        description="Obligations by US federal fiscal year (October to September), e.g. "
        "{'2023': '1250000.00'}; an award known only from its summary counts in the year of "
        "its first action."
    )


class TieOut(Schema):
    id: int = Field(description="The tie's id.")
    subject: EntityRef = Field(description="The entity the tie goes from.")
    object: EntityRef = Field(
        description="The entity the tie goes to. owns: owner -> asset; part_of: component -> "
        "parent; member_of: member -> organisation; contract: supplier -> agency."
    )
    kind: TieKind = Field(description="What sort of tie this is.")
    status: TieStatus = Field(description="Whether the tie is active, ended, announced or alleged.")
    start_date: str | None = Field(description=f"When the tie began. {PARTIAL_DATE}")
    end_date: str | None = Field(description=f"When the tie ended. {PARTIAL_DATE}")
    amount: str | None = Field(
        description="The amount involved as a decimal string (e.g. '1250000.00'); null if none."
    )
    currency: str | None = Field(description="ISO 4217 code of the amount; null if none.")
    summary: str = Field(description="A short account of the tie; empty if none.")
    path: str = Field(
        description="How the tie was reached, e.g. 'Amazon > Amazon Web Services — hosting — "
        "U.S. Immigration and Customs Enforcement < U.S. Department of Homeland Security'."
    )
    near_path: list[str] = Field(
        description="Slugs from the asked-for entity down its family to the near end of the tie."
    )
    far_path: list[str] = Field(
        description="Slugs from the far end of the tie up to the 'to' entity; empty without 'to'."
    )
    citations: list[CitationOut] = Field(
        description="The sources behind the tie, never empty. In lists, the first "
        f"{CITATIONS_IN_LISTS} only (an imported contract tie can cite thousands of award "
        "records); /api/ties/{id} gives them all."
    )
    citation_count: int = Field(description="How many citations the tie has in all.")
    contract_totals: ContractTotalsOut | None = Field(
        description="For a contract tie imported from USAspending, the figures behind its "
        "amount; null otherwise."
    )
    page: str = Field(description="Address of the tie's public page on this site.")
    counted_amount: str | None = Field(
        default=None,
        description="In a list, the part of the amount that counts in the list's totals on its "
        "basis (see 'members'), as a decimal string; null for a tie without an amount.",
    )


class TotalOut(Schema):
    component: EntityRef | None = Field(
        default=None,
        description="In totals_by_component, the top component of the 'to' entity's tree the "
        "ties reach (ICE under DHS), or the 'to' entity itself for ties to it directly.",
    )
    kind: TieKind = Field(description="The kind of the ties added up.")
    currency: str | None = Field(description="ISO 4217 code of the amounts; null if none.")
    amount: str = Field(description="The sum of the counted amounts, as a decimal string.")
    tie_count: int = Field(description="How many ties with an amount are added up.")


class TieListOut(Schema):
    entity: EntityRef = Field(description="The entity whose ties these are.")
    to: EntityRef | None = Field(description="The entity the ties were limited to, if any.")
    rollup: bool = Field(description="Whether subsidiaries and components were included.")
    kind: TieKind | None = Field(description="The kind of tie the list was limited to, if any.")
    total: int = Field(description="How many ties match, on every page together.")
    limit: int = Field(description="The most ties a page holds.")
    offset: int = Field(description="How many ties come before this page.")
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")
    ties: list[TieOut] = Field(
        description="The ties on this page, each with its path and citations."
    )
    members: str | None = Field(
        default=None,
        description="With rollup, whose dealings the list and its totals count: 'dated' (each "
        "member's only while the family owned it, as the records' own parent fields date "
        "it) or 'current' (today's members, whole history); null without rollup.",
    )
    basis: str = Field(default="", description="The basis of the totals, in words.")
    totals: list[TotalOut] = Field(
        default_factory=list,
        description="The counted amounts of every matching tie (all pages), per kind and currency.",
    )
    totals_by_component: list[TotalOut] = Field(
        default_factory=list,
        description="With rollup and a 'to' entity that has components, the totals per "
        "component as well; empty otherwise.",
    )


class TieRef(Schema):
    id: int = Field(description="The tie's id (see /api/ties/{id}).")
    subject: EntityRef = Field(description="The entity the tie goes from.")
    kind: TieKind = Field(description="What sort of tie this is.")
    object: EntityRef = Field(description="The entity the tie goes to.")
    status: TieStatus = Field(description="Whether the tie is active, ended, announced or alleged.")


class SourceOut(Schema):
    id: int = Field(description="The source's id, used when citing it.")
    kind: SourceKind = Field(description="What sort of document the source is.")
    title: str = Field(description="The source's title.")
    publisher: str = Field(description="Who published the source; empty if unknown.")
    url: str | None = Field(description="Where the source is published; null if unknown.")
    published: str | None = Field(description=f"Publication date. {PARTIAL_DATE}")
    retrieved: str | None = Field(
        description=f"When the source was read or fetched. {PARTIAL_DATE}"
    )
    archive_sha256: str | None = Field(
        description="SHA-256 of the archived copy of the source; null when none is stored."
    )
    page: str = Field(description="Address of the source's public page on this site.")


class BackedClaimOut(Schema):
    citation_id: int = Field(description="The citation's id.")
    quote: str = Field(description="The words in the source that back the claim.")
    locator: str = Field(description="Where in the source: page, paragraph, record key.")
    tie: TieRef | None = Field(description="The tie the citation backs, if it backs a tie.")
    entity: EntityRef | None = Field(
        description="The entity whose fact the citation backs, if it backs an entity fact."
    )


class SourceDetailOut(SourceOut):
    backs: list[BackedClaimOut] = Field(description="Every claim this source is cited for.")


class SourcePageOut(Schema):
    items: list[SourceOut] = Field(description="The sources on this page.")
    limit: int = Field(description="The most sources a page holds.")
    offset: int = Field(description="How many sources come before this page.")
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


# --- input ------------------------------------------------------------------------

# The widest key both databases hold (a signed 64-bit integer). An id outside
# 1..MAX_ROW_ID in a body is refused here with a 422 and never reaches the
# database, where SQLite raises OverflowError on it.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[
    int,
    Field(ge=1, le=MAX_ROW_ID, description="A row id: a whole number from 1 to 2**63 - 1."),
]

Alias = Annotated[str, Field(max_length=_max_length(Entity, "name"))]
PartialDate = Annotated[str, Field(max_length=10, description=PARTIAL_DATE)]
_AMOUNT_FIELD = Tie._meta.get_field("amount")
_AMOUNT_DIGITS = int(_AMOUNT_FIELD.max_digits)  # type: ignore[union-attr]
_AMOUNT_PLACES = int(_AMOUNT_FIELD.decimal_places)  # type: ignore[union-attr]
_AMOUNT_WHOLE_DIGITS = _AMOUNT_DIGITS - _AMOUNT_PLACES
AMOUNT_PATTERN = rf"^-?[0-9]{{1,{_AMOUNT_WHOLE_DIGITS}}}(\.[0-9]{{1,{_AMOUNT_PLACES}}})?$"


def _amount_as_written(value: Any) -> Any:
    """An amount as the schema names it: a decimal string, or a JSON number without a fraction.

    A number with a fraction is refused rather than read: most JSON writers hold it as a
    binary float, already rounded before it is sent.
    """
    if isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN, value):
        raise ValueError(
            f"write the amount as digits with at most {_AMOUNT_PLACES} decimal places, "
            "e.g. '1250000.00'"
        )
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("an amount with a fraction is written as a string, e.g. '1250000.50'")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_as_written),
    Field(max_digits=_AMOUNT_DIGITS, decimal_places=_AMOUNT_PLACES),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN},
                {
                    "type": "integer",
                    "minimum": 1 - 10**_AMOUNT_WHOLE_DIGITS,
                    "maximum": 10**_AMOUNT_WHOLE_DIGITS - 1,
                },
            ],
            "description": f"The amount involved: a decimal string with at most {_AMOUNT_PLACES} "
            "decimal places ('1250000.50'), or a whole number.",
        }
    ),
]
EntityReference = Annotated[
    str,
    Field(
        max_length=_max_length(Entity, "name"),
        description="An entity's slug, or a name, alias or identifier that matches exactly one "
        "entity. Partial matches are not accepted for writes.",
    ),
]
IdentifierMap = dict[IdentifierScheme, list[Annotated[str, Field(max_length=200)]]]


def _refuse_null(value: Any) -> Any:
    """In a PATCH body a field left out keeps its value; null clears only where that makes sense."""
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


def _not_nullable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The fields a ``_not_null`` validator guards are optional but not nullable in the schema."""
    guard = model.__pydantic_decorators__.field_validators.get("_not_null")
    for name in guard.info.fields if guard else ():
        field = schema["properties"][name]
        field.pop("default", None)
        kept = [choice for choice in field.pop("anyOf", []) if choice != {"type": "null"}]
        if len(kept) == 1:
            field.update({key: value for key, value in kept[0].items() if key not in field})
        elif kept:
            field["anyOf"] = kept


class PatchIn(Schema):
    """A PATCH body: a field left out keeps its value; only some take null, to clear it.

    Subclasses name the fields that refuse null in a ``_not_null`` validator.
    """

    model_config = ConfigDict(json_schema_extra=_not_nullable)


class CitationIn(Schema):
    source_id: RowId = Field(
        description="The id of the cited source (create one with POST /api/sources)."
    )
    quote: str = Field(
        default="",
        max_length=LONG_TEXT_MAX_LENGTH,
        description="The words in the source that back the claim.",
    )
    locator: str = Field(
        default="",
        max_length=_max_length(Citation, "locator"),
        description="Where in the source: page, paragraph, record key.",
    )


class EntityIn(Schema):
    name: str = Field(max_length=_max_length(Entity, "name"), description="The entity's name.")
    kind: EntityKind = Field(description="What sort of entity this is.")
    aliases: list[Alias] = Field(
        default_factory=list, max_length=200, description="Other names of the entity."
    )
    identifiers: IdentifierMap = Field(
        default_factory=dict,
        description='Identifier values by scheme, e.g. {"ticker": ["AMZN"]}. An identifier '
        "already held by another entity is refused.",
    )
    country: str = Field(default="", max_length=2, description="ISO 3166-1 alpha-2 code.")
    summary: str = Field(
        default="", max_length=LONG_TEXT_MAX_LENGTH, description="A short description."
    )
    slug: str | None = Field(
        default=None,
        max_length=_max_length(Entity, "slug"),
        description="The slug to use; made from the name when left out.",
    )


class EntityPatch(PatchIn):
    name: str | None = Field(
        default=None, max_length=_max_length(Entity, "name"), description="A new name."
    )
    kind: EntityKind | None = Field(default=None, description="A new kind.")
    aliases: list[Alias] | None = Field(
        default=None, max_length=200, description="The full new list of aliases."
    )
    identifiers: IdentifierMap | None = Field(
        default=None,
        description="New identifier values by scheme. Only the schemes named change; an empty "
        "list removes that scheme's identifiers.",
    )
    country: str | None = Field(default=None, max_length=2, description="A new country code.")
    summary: str | None = Field(
        default=None, max_length=LONG_TEXT_MAX_LENGTH, description="A new summary."
    )
    slug: str | None = Field(
        default=None, max_length=_max_length(Entity, "slug"), description="A new slug."
    )

    @field_validator("name", "kind", "aliases", "identifiers", "country", "summary", "slug")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


class SourceIn(Schema):
    kind: SourceKind = Field(description="What sort of document the source is.")
    title: str = Field(max_length=_max_length(Source, "title"), description="The source's title.")
    publisher: str = Field(
        default="", max_length=_max_length(Source, "publisher"), description="Who published it."
    )
    url: str = Field(
        default="", max_length=_max_length(Source, "url"), description="Where it is published."
    )
    published: PartialDate = Field(default="", description=f"Publication date. {PARTIAL_DATE}")
    retrieved: PartialDate = Field(
        default="", description=f"When the source was read or fetched. {PARTIAL_DATE}"
    )


class TieIn(Schema):
    subject: EntityReference = Field(description="The entity the tie goes from.")
    object: EntityReference = Field(description="The entity the tie goes to.")
    kind: TieKind = Field(
        description="owns: owner -> asset; part_of: component -> parent; member_of: member -> "
        "organisation; contract: supplier -> agency; the rest name dealings between the two."
    )
    status: TieStatus = Field(default=TieStatus.ACTIVE, description="The tie's status.")
    start_date: PartialDate = Field(default="", description=f"When the tie began. {PARTIAL_DATE}")
    end_date: PartialDate = Field(default="", description=f"When the tie ended. {PARTIAL_DATE}")
    amount: Amount | None = Field(default=None, description="The amount involved, if any.")
    currency: str = Field(
        default="", max_length=3, description="ISO 4217 code; needed with an amount."
    )
    summary: str = Field(
        default="", max_length=LONG_TEXT_MAX_LENGTH, description="A short account of the tie."
    )
    citations: list[CitationIn] = Field(
        description="The sources behind the tie. Required: a tie without a citation is refused."
    )


class TiePatch(PatchIn):
    subject: EntityReference | None = Field(default=None, description="A new subject.")
    object: EntityReference | None = Field(default=None, description="A new object.")
    kind: TieKind | None = Field(default=None, description="A new kind.")
    status: TieStatus | None = Field(
        default=None, description="A new status; changing it needs a citation."
    )
    start_date: PartialDate | None = Field(
        default=None, description=f"A new start date; null clears it. {PARTIAL_DATE}"
    )
    end_date: PartialDate | None = Field(
        default=None,
        description=f"A new end date; null clears it. Changing it needs a citation. {PARTIAL_DATE}",
    )
    amount: Amount | None = Field(default=None, description="A new amount; null clears it.")
    currency: str | None = Field(
        default=None, max_length=3, description="A new ISO 4217 code; null clears it."
    )
    summary: str | None = Field(
        default=None, max_length=LONG_TEXT_MAX_LENGTH, description="A new summary."
    )
    citation: CitationIn | None = Field(
        default=None,
        description="The source reporting the change; required when the status or end date "
        "changes, and added to the tie's citations.",
    )

    @field_validator("subject", "object", "kind", "status", "summary")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return _refuse_null(value)


# --- builders -----------------------------------------------------------------------


def entity_ref(entity: Entity) -> EntityRef:
    return EntityRef(slug=entity.slug, name=entity.name)


def entity_summary_out(entity: Entity) -> EntitySummaryOut:
    return EntitySummaryOut(
        slug=entity.slug,
        name=entity.name,
        kind=EntityKind(entity.kind),
        aliases=list(entity.aliases),
        country=_or_none(entity.country),
    )


def entity_out(entity: Entity, parents: list[list[Entity]]) -> EntityOut:
    return EntityOut(
        **entity_summary_out(entity).model_dump(),
        summary=entity.summary,
        identifiers=[
            IdentifierOut(scheme=IdentifierScheme(i.scheme), value=i.value)
            for i in entity.identifiers.all()
        ],
        parents=[[entity_ref(e) for e in chain] for chain in parents],
        page=entity.get_absolute_url(),
    )


def tie_out(rolled: RolledTie, counted: Decimal | None = None) -> TieOut:
    """A tie as reached from an entity, loaded with ``records.load_receipts``: the one
    record the CLI's JSON gives too."""
    return TieOut.model_validate(records.tie_record(rolled, counted))


def lone_tie_out(tie: Tie) -> TieOut:
    """A tie on its own, seen from its subject."""
    return TieOut.model_validate(records.lone_tie_record(tie))


def tie_ref(tie: Tie) -> TieRef:
    return TieRef(
        id=tie.pk,
        subject=entity_ref(tie.subject),
        kind=TieKind(tie.kind),
        object=entity_ref(tie.object),
        status=TieStatus(tie.status),
    )


def source_out(source: Source) -> SourceOut:
    return SourceOut(
        id=source.pk,
        kind=SourceKind(source.kind),
        title=source.title,
        publisher=source.publisher,
        url=_or_none(source.url),
        published=_or_none(source.published),
        retrieved=_or_none(source.retrieved),
        archive_sha256=_or_none(source.archive_sha256),
        page=source.get_absolute_url(),
    )


def source_detail_out(source: Source, citations: list[Citation]) -> SourceDetailOut:
    """A source with the claims it backs; citations should select their tie and entity."""
    return SourceDetailOut(
        **source_out(source).model_dump(),
        backs=[
            BackedClaimOut(
                citation_id=c.pk,
                quote=c.quote,
                locator=c.locator,
                tie=None if c.tie is None else tie_ref(c.tie),
                entity=None if c.entity is None else entity_ref(c.entity),
            )
            for c in citations
        ],
    )
