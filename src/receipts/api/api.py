"""The JSON API under /api/: public reads, token-authenticated writes, schema at /api/openapi.json.

Routes parse input, call a query or a service of ``receipts.evidence`` and
shape the answer; every write goes through ``receipts.evidence.services``,
so the API cannot store a tie without a citation or a cycle of ownership.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Status, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from receipts import refusals
from receipts.campaigns.api import router as campaigns_router
from receipts.captures.api import router as captures_router
from receipts.evidence import queries, records, services
from receipts.evidence.models import Citation, Entity, EntityKind, Source, Tie
from receipts.ingest.family_totals import MembersBasis, TotalLine, family_ties

from .auth import token_auth
from .openapi import ReceiptsOpenAPISchema
from .schemas import (
    CITATIONS_IN_LISTS,
    AmbiguousOut,
    CitationIn,
    EntityIn,
    EntityOut,
    EntityPageOut,
    EntityPatch,
    SourceDetailOut,
    SourceIn,
    SourcePageOut,
    TieIn,
    TieKind,
    TieListOut,
    TieOut,
    TiePatch,
    TotalOut,
    entity_out,
    entity_ref,
    entity_summary_out,
    lone_tie_out,
    source_detail_out,
    source_out,
    tie_out,
)
from .text import storable_text


class ReceiptsAPI(NinjaAPI):
    """The API, with operation ids named for their views (``create_tie``), not their module.

    Its schema documents each operation's error answers (``receipts.api.openapi``).
    """

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ReceiptsOpenAPISchema(self, path_prefix)


api = ReceiptsAPI(
    title="Receipts API",
    version="1",
    description=(
        "Entities, the ties between them with the citations behind each tie, and sources. "
        "Reads are public. Writes need an API token (`receipts token create USERNAME`) sent as "
        "`Authorization: Bearer <token>`, of a user allowed to record ties; session cookies "
        "are not accepted for writes. Refused writes answer 400 with a `detail` naming the field; "
        "input that does not match this schema answers 422 with a `detail` listing each problem. "
        "Campaigns: public ones are read openly, private ones only with a member's token "
        "(else 404); writes need the editor role in the campaign, and a token issued for one "
        "campaign (`receipts token create USERNAME --campaign SLUG`) writes that campaign only."
    ),
    urls_namespace="api",
    # Swagger UI from ninja's own static files; no validator badge fetched from swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)
# Text the database cannot hold (NUL, lone surrogates) is refused in writes and matches
# nothing in reads, on every operation.
api.add_decorator(storable_text)
# Campaigns: public campaigns read openly; writes by a token of a campaign editor,
# and a token scoped to a campaign writes that campaign only.
api.add_router("/campaigns", campaigns_router)
# Web captures of sources: writes by an evidence token, reads open.
api.add_router("/captures", captures_router)

MAX_PAGE = 200
# No database takes an offset past a 64-bit integer; ten million reaches every row a
# deployment of this kind holds (an import of 1M rows cites ~200k sources).
MAX_OFFSET = 10_000_000
# A list of ties is cut in pages too: an agency can hold tens of thousands after an import.
MAX_TIES_PAGE = 500
MAX_TIES_OFFSET = 10_000_000

# Error answers that follow from an operation's shape (a token, a path parameter, a
# body, any input) are documented by ``receipts.api.openapi``; routes declare their own.


# --- errors -------------------------------------------------------------------------


@api.exception_handler(DjangoValidationError)
def refused_write(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A refused write: one line in ``detail``, and each field's problems under ``errors``."""
    body = {"detail": refusals.describe(exc), "errors": refusals.as_dict(exc)}
    return api.create_response(request, body, status=400)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"body: larger than the limit of {limit} bytes"}, status=413
    )


@api.exception_handler(AuthenticationError)
def missing_token(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "a write needs a live API token sent as 'Authorization: Bearer <token>'"},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="receipts"'
    return response


# --- lookups ------------------------------------------------------------------------


def _entity(slug: str) -> Entity:
    found = Entity.objects.filter(slug=slug).first()
    if found is None:
        raise HttpError(404, f"slug: no entity has the slug {slug!r}")
    return found


def _tie(pk: int) -> Tie:
    found = (
        Tie.objects.select_related("subject", "object")
        .prefetch_related(
            Prefetch("citations", queryset=Citation.objects.select_related("source").order_by("id"))
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise HttpError(404, f"id: no tie has the id {pk}")
    return found


def _source(pk: int) -> Source:
    found = Source.objects.filter(pk=pk).first()
    if found is None:
        raise HttpError(404, f"id: no source has the id {pk}")
    return found


def _entity_for_write(field: str, reference: str) -> Entity:
    """The one entity a write names: by slug, else by exact name, alias or identifier.

    Unlike reads, writes never take a partial match: a tie to the wrong
    entity is worse than a refused request.
    """
    by_slug = Entity.objects.filter(slug=reference).first()
    if by_slug is not None:
        return by_slug
    matches = queries.exact_matches(reference)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise HttpError(
            400, f"{field}: no entity has the slug, name, alias or identifier {reference!r}"
        )
    listed = "; ".join(f"{e.name} ({e.slug})" for e in matches[:10])
    raise HttpError(400, f"{field}: {reference!r} matches several entities, give a slug: {listed}")


def _citation_input(
    field: str, item: CitationIn, sources: dict[int, Source]
) -> services.CitationInput:
    source = sources.get(item.source_id)
    if source is None:
        raise HttpError(400, f"{field}.source_id: no source has the id {item.source_id}")
    return services.CitationInput(source=source, quote=item.quote, locator=item.locator)


def _citation_inputs(field: str, items: list[CitationIn]) -> list[services.CitationInput]:
    sources = Source.objects.in_bulk({item.source_id for item in items})
    return [_citation_input(f"{field}[{i}]", item, sources) for i, item in enumerate(items)]


def _writer(request: HttpRequest) -> User:
    """The user behind the request's token, set by ``ApiTokenAuth`` before a write runs."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user


def _entity_detail(entity: Entity) -> EntityOut:
    return entity_out(entity, queries.parents_of(entity))


# --- entities -----------------------------------------------------------------------


def _search_page(q: str, kind: str | None, offset: int, limit: int) -> tuple[list[Entity], bool]:
    """One page of search results of a kind, and whether more follow.

    The search ranks exact matches first and takes no kind, so the window of
    ranked results widens until it holds the page or the matches run out.
    """
    wanted = offset + limit + 1
    window = wanted
    while True:
        found = queries.search_entities(q, limit=window)
        matching = [e for e in found if kind is None or e.kind == kind]
        if len(matching) >= wanted or len(found) < window:
            return matching[offset : offset + limit], len(matching) > offset + limit
        window *= 4


@api.get("/entities", response=EntityPageOut, tags=["entities"], summary="List or search entities")
def list_entities(
    request: HttpRequest,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description="Search names, aliases, slugs and identifiers; exact matches come first.",
        ),
    ] = "",
    kind: Annotated[EntityKind | None, Query(description="Only entities of this kind.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="The most entities to return.")
    ] = 50,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="How many entities to skip.")
    ] = 0,
) -> EntityPageOut:
    kind_value = None if kind is None else str(kind.value)
    if q.strip():
        items, more = _search_page(q, kind_value, offset, limit)
    else:
        listed = Entity.objects.order_by("name", "pk")
        if kind_value is not None:
            listed = listed.filter(kind=kind_value)
        rows = list(listed[offset : offset + limit + 1])
        items, more = rows[:limit], len(rows) > limit
    return EntityPageOut(
        items=[entity_summary_out(e) for e in items],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


@api.get(
    "/entities/{slug}",
    response=EntityOut,
    tags=["entities"],
    summary="An entity with its identifiers and parents",
)
def get_entity(request: HttpRequest, slug: str) -> EntityOut:
    return _entity_detail(_entity(slug))


@api.get(
    "/entities/{slug}/ties",
    response={200: TieListOut, 400: AmbiguousOut},
    tags=["entities"],
    summary="The ties of an entity, optionally rolled up and limited to one counterpart",
)
def entity_ties(
    request: HttpRequest,
    slug: str,
    rollup: Annotated[
        bool,
        Query(
            description="Include the ties of subsidiaries (through active ownership ties) and "
            "of components (through active part_of ties), on both sides."
        ),
    ] = False,
    to: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Only ties to this entity (a name, alias, slug or identifier), or with "
            "rollup to its components and subsidiaries.",
        ),
    ] = None,
    kind: Annotated[TieKind | None, Query(description="Only ties of this kind.")] = None,
    members: Annotated[
        MembersBasis,
        Query(
            description="With rollup, whose dealings count: 'dated' (each member's only while "
            "the family owned it, as the records' own parent fields date it) or 'current' "
            "(today's members, whole history)."
        ),
    ] = MembersBasis.DATED,
    limit: Annotated[
        int, Query(ge=1, le=MAX_TIES_PAGE, description="The most ties to return.")
    ] = MAX_TIES_PAGE,
    offset: Annotated[
        int, Query(ge=0, le=MAX_TIES_OFFSET, description="How many ties to skip.")
    ] = 0,
) -> TieListOut | Status[AmbiguousOut]:
    entity = _entity(slug)
    target = None
    if to is not None and to.strip():
        try:
            target = queries.resolve_entity(to)
        except queries.NameNotFound as exc:
            raise HttpError(404, f"to: {exc}") from exc
        except queries.NameAmbiguous as exc:
            return Status(
                400,
                AmbiguousOut(
                    detail=f"to: {exc}", candidates=[entity_ref(e) for e in exc.candidates]
                ),
            )
    family = family_ties(
        entity,
        rollup=rollup,
        to=target,
        kinds=None if kind is None else [kind.value],
        members=members,
        citations_limit=CITATIONS_IN_LISTS,
        defer_citations=True,
    )
    rolled = family.ties
    page = rolled[offset : offset + limit]
    records.load_receipts([r.tie for r in page], CITATIONS_IN_LISTS)
    listed = [tie_out(r, family.counted.get(r.tie.pk)) for r in page]
    return TieListOut(
        entity=entity_ref(entity),
        to=None if target is None else entity_ref(target),
        rollup=rollup,
        kind=kind,
        total=len(rolled),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < len(rolled) else None,
        ties=listed,
        members=family.members if rollup else None,
        basis=family.basis_text,
        totals=[total_out(line) for line in family.totals],
        totals_by_component=[total_out(line) for line in family.by_component],
    )


def total_out(line: TotalLine) -> TotalOut:
    return TotalOut(
        component=None if line.component is None else entity_ref(line.component),
        kind=TieKind(line.kind),
        currency=line.currency or None,
        amount=f"{line.amount:.2f}",
        tie_count=line.tie_count,
    )


@api.post(
    "/entities",
    auth=token_auth,
    response={201: EntityOut},
    tags=["entities"],
    summary="Create an entity",
)
def create_entity(request: HttpRequest, payload: EntityIn) -> Status[EntityOut]:
    data = payload.model_dump(mode="json")
    entity = services.save_entity(
        name=data["name"],
        kind=data["kind"],
        aliases=data["aliases"],
        identifiers=data["identifiers"],
        country=data["country"],
        summary=data["summary"],
        slug=data["slug"],
    )
    return Status(201, _entity_detail(entity))


@api.patch(
    "/entities/{slug}",
    auth=token_auth,
    response=EntityOut,
    tags=["entities"],
    summary="Change an entity; fields left out keep their values",
)
def update_entity(request: HttpRequest, slug: str, payload: EntityPatch) -> EntityOut:
    entity = _entity(slug)
    data = payload.model_dump(mode="json", exclude_unset=True)
    entity = services.save_entity(
        entity=entity,
        name=data.get("name", entity.name),
        kind=data.get("kind", entity.kind),
        aliases=data.get("aliases", entity.aliases),
        identifiers=data.get("identifiers"),
        country=data.get("country", entity.country),
        summary=data.get("summary", entity.summary),
        slug=data.get("slug"),
    )
    return _entity_detail(entity)


# --- ties ---------------------------------------------------------------------------


@api.get(
    "/ties/{tie_id}",
    response=TieOut,
    tags=["ties"],
    summary="A tie with its citations",
)
def get_tie(request: HttpRequest, tie_id: int) -> TieOut:
    return lone_tie_out(_tie(tie_id))


@api.post(
    "/ties",
    auth=token_auth,
    response={201: TieOut},
    tags=["ties"],
    summary="Record a tie together with the citations behind it",
)
def create_tie(request: HttpRequest, payload: TieIn) -> Status[TieOut]:
    subject = _entity_for_write("subject", payload.subject)
    obj = _entity_for_write("object", payload.object)
    data = payload.model_dump(mode="json")
    tie = services.record_tie(
        subject,
        obj,
        data["kind"],
        citations=_citation_inputs("citations", payload.citations),
        status=data["status"],
        start_date=data["start_date"],
        end_date=data["end_date"],
        amount=data["amount"],
        currency=data["currency"],
        summary=data["summary"],
        created_by=_writer(request),
    )
    return Status(201, lone_tie_out(_tie(tie.pk)))


@api.patch(
    "/ties/{tie_id}",
    auth=token_auth,
    response=TieOut,
    tags=["ties"],
    summary="Change a tie; a change of status or end date needs a citation",
)
def update_tie(request: HttpRequest, tie_id: int, payload: TiePatch) -> TieOut:
    tie = _tie(tie_id)
    changes = payload.model_dump(mode="json", exclude_unset=True, exclude={"citation"})
    for end in ("subject", "object"):
        if end in changes:
            changes[end] = _entity_for_write(end, changes[end])
    citation = None
    if payload.citation is not None:
        sources = Source.objects.in_bulk([payload.citation.source_id])
        citation = _citation_input("citation", payload.citation, sources)
    services.update_tie(tie, citation=citation, created_by=_writer(request), **changes)
    return lone_tie_out(_tie(tie.pk))


@api.post(
    "/ties/{tie_id}/citations",
    auth=token_auth,
    response={201: TieOut},
    tags=["ties"],
    summary="Add a citation to a tie",
)
def cite_tie(request: HttpRequest, tie_id: int, payload: CitationIn) -> Status[TieOut]:
    tie = _tie(tie_id)
    sources = Source.objects.in_bulk([payload.source_id])
    services.cite_tie(
        tie, _citation_input("citation", payload, sources), created_by=_writer(request)
    )
    return Status(201, lone_tie_out(_tie(tie.pk)))


# --- sources ------------------------------------------------------------------------


@api.get("/sources", response=SourcePageOut, tags=["sources"], summary="List sources")
def list_sources(
    request: HttpRequest,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="The most sources to return.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many sources to skip.")] = 0,
) -> SourcePageOut:
    rows = list(Source.objects.order_by("-published", "title", "pk")[offset : offset + limit + 1])
    return SourcePageOut(
        items=[source_out(s) for s in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@api.get(
    "/sources/{source_id}",
    response=SourceDetailOut,
    tags=["sources"],
    summary="A source with every claim it backs",
)
def get_source(request: HttpRequest, source_id: int) -> SourceDetailOut:
    source = _source(source_id)
    citations = list(
        Citation.objects.filter(source=source)
        .select_related("tie__subject", "tie__object", "entity")
        .order_by("id")
    )
    return source_detail_out(source, citations)


@api.post(
    "/sources",
    auth=token_auth,
    response={201: SourceDetailOut},
    tags=["sources"],
    summary="Create a source to cite",
)
def create_source(request: HttpRequest, payload: SourceIn) -> Status[SourceDetailOut]:
    data = payload.model_dump(mode="json")
    source = services.save_source(
        kind=data["kind"],
        title=data["title"],
        publisher=data["publisher"],
        url=data["url"],
        published=data["published"],
        retrieved=data["retrieved"],
    )
    return Status(201, source_detail_out(source, []))
