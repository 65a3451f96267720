"""Reads of the evidence graph: search, name resolution and rollups.

Rollups walk ownership (owner -> asset) and part_of (component -> parent)
ties breadth-first, a whole family in one recursive query, so each member of a
family is found by its shortest path. A visited set makes them cycle-safe and
``settings.ROLLUP_MAX_DEPTH`` bounds their depth even on a damaged graph.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.text import slugify

from .bulk import chunks
from .models import (
    Citation,
    Entity,
    Identifier,
    IdentifierScheme,
    Tie,
    TieKind,
    TieStatus,
    live_through,
)

# Keep IN lists well under every backend's parameter limit.
_CHUNK = 2000


def _child_edges(
    frontier: Sequence[int], *, include_ended: bool, ignore_tie: int | None = None
) -> Iterator[tuple[int, int]]:
    """(parent, child) pairs one level below the frontier."""
    for chunk in chunks(frontier, _CHUNK):
        qs = Tie.objects.filter(
            Q(kind=TieKind.OWNS, subject_id__in=chunk)
            | Q(kind=TieKind.PART_OF, object_id__in=chunk)
        )
        if not include_ended:
            qs = qs.exclude(status=TieStatus.ENDED)
        if ignore_tie is not None:
            qs = qs.exclude(pk=ignore_tie)
        for kind, subject_id, object_id in qs.values_list("kind", "subject_id", "object_id"):
            if kind == TieKind.OWNS:
                yield subject_id, object_id
            else:
                yield object_id, subject_id


def descendant_ids(root_id: int, *, ignore_tie: int | None = None) -> set[int]:
    """Every entity below ``root_id`` through ownership or part_of ties, any status.

    Used by the cycle check, which must see ended ties too. Not depth-bounded:
    it must see the whole graph to refuse a cycle, and the visited set ends it.
    """
    seen: set[int] = set()
    frontier = [root_id]
    while frontier:
        nxt: list[int] = []
        for _parent, child in _child_edges(frontier, include_ended=True, ignore_tie=ignore_tie):
            if child not in seen:
                seen.add(child)
                nxt.append(child)
        frontier = nxt
    return seen


def family_paths(
    root_id: int, max_depth: int | None = None, *, include_ended: bool = False
) -> dict[int, list[int]]:
    """Map each member of the root's family or tree to its path of ids from the root.

    The root maps to ``[root_id]``. Ended ownership or part_of ties do not
    carry a rollup: a sold subsidiary is no longer in the family. With
    ``include_ended`` they do, for totals that date each member's time in
    the family (``receipts.ingest.family_totals``).
    """
    depth_limit = settings.ROLLUP_MAX_DEPTH if max_depth is None else max_depth
    paths: dict[int, list[int]] = {root_id: [root_id]}
    if depth_limit < 1:
        return paths
    # One query for the whole family rather than one per level: a page that
    # rolls up two six-level trees spends its time here otherwise. The walk
    # lists (parent, child, depth) for every route within the depth bound, so
    # a cycle ends at the bound; read by depth, the first route to a member is
    # a shortest one and the visited check keeps only it.
    table = connection.ops.quote_name(Tie._meta.db_table)
    sql = f"""
        WITH RECURSIVE walk(parent_id, child_id, depth) AS (
            SELECT CAST(%s AS BIGINT), CAST(%s AS BIGINT), 0
            UNION
            SELECT w.child_id,
                   CASE WHEN t.kind = %s THEN t.object_id ELSE t.subject_id END,
                   w.depth + 1
            FROM walk w
            JOIN {table} t
              ON (t.kind = %s AND t.subject_id = w.child_id)
              OR (t.kind = %s AND t.object_id = w.child_id)
            WHERE w.depth < %s AND t.status <> %s
        )
        SELECT parent_id, child_id FROM walk WHERE depth > 0
        ORDER BY depth, parent_id, child_id
    """  # noqa: S608 - the table name is the model's own; every value is a parameter
    params = [
        root_id,
        root_id,
        str(TieKind.OWNS),
        str(TieKind.OWNS),
        str(TieKind.PART_OF),
        depth_limit,
        # No status is empty: with include_ended the condition holds for every tie.
        "" if include_ended else str(TieStatus.ENDED),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for parent, child in cursor.fetchall():
            if child not in paths:
                paths[child] = [*paths[parent], child]
    return paths


@dataclass
class RolledTie:
    """A tie reached from an entity, with the path through its family that led to it."""

    tie: Tie
    # Entities from the asked-for entity down to the end of the tie in its family.
    near_path: list[Entity]
    # From the other end of the tie up to the root of the ``to`` tree, if one was asked.
    far_path: list[Entity] = field(default_factory=list)
    near_is_subject: bool = True

    @property
    def rolled_up(self) -> bool:
        return len(self.near_path) > 1 or len(self.far_path) > 1

    @property
    def far_entity(self) -> Entity:
        return self.tie.object if self.near_is_subject else self.tie.subject

    def path_text(self) -> str:
        """'Amazon > Amazon Web Services — hosting — ICE < DHS', read from the asked-for side."""
        near = " > ".join(e.name for e in self.near_path)
        far = " < ".join(e.name for e in (self.far_path or [self.far_entity]))
        verb = (
            self.tie.kind.replace("_", " ")
            if self.near_is_subject
            else REVERSE_VERBS[self.tie.kind]
        )
        return f"{near} — {verb} — {far}"


# How a tie reads from its object's side: "Ring — owned by — Amazon".
REVERSE_VERBS = {
    TieKind.OWNS: "owned by",
    TieKind.PART_OF: "has component",
    TieKind.CONTRACT: "contract with",
    TieKind.HOSTING: "hosted by",
    TieKind.PARTNERSHIP: "partnership",
    TieKind.DATA_SHARING: "data sharing",
    TieKind.INVESTMENT: "investment from",
    TieKind.MEMBER_OF: "has member",
    TieKind.OTHER: "other dealings",
}


def _ties_touching(ids: Sequence[int]) -> QuerySet[Tie]:
    return Tie.objects.filter(Q(subject_id__in=ids) | Q(object_id__in=ids))


def _with_receipts(
    qs: QuerySet[Tie], citations_limit: int | None = None, defer: bool = False
) -> QuerySet[Tie]:
    """Ties with their ends and citations; with a limit, only the first few citations
    are loaded and ``citation_count`` tells how many there are (an imported contract
    tie can cite thousands of award records). Deferred, neither: see rollup_ties."""
    qs = qs.select_related("subject", "object")
    if defer:
        # A page listing a slice of thousands of ties: leave out what no listing shows.
        unused = ("aliases", "summary", "search_text", "created_at", "updated_at")
        return qs.defer(
            "created_at",
            "updated_at",
            *(f"subject__{f}" for f in unused),
            *(f"object__{f}" for f in unused),
        )
    if citations_limit is None:
        citations = Citation.objects.select_related("source").order_by("id")
        return qs.prefetch_related(Prefetch("citations", queryset=citations))
    return qs.annotate(citation_count=Count("citations"))


def prefetch_first_citations(ties: list[Tie], limit: int | None, *, counts: bool = False) -> None:
    """Load each tie's first ``limit`` citations (all with None) as its prefetched
    ``citations``, in one query per 2,000 ties whatever their number. With
    ``counts``, also set ``citation_count`` (how many there are in all), read
    in the same query."""
    by_tie: dict[int, list[Citation]] = {t.pk: [] for t in ties}
    total: dict[int, int] = {}
    ids = list(by_tie)
    for chunk in chunks(ids, _CHUNK):
        rows = Citation.objects.filter(tie_id__in=chunk)
        if limit is not None:
            rows = rows.annotate(
                rank=Window(RowNumber(), partition_by=F("tie_id"), order_by=F("id").asc())
            )
            if counts:
                rows = rows.annotate(in_all=Window(Count("id"), partition_by=F("tie_id")))
            rows = rows.filter(rank__lte=limit)
        rows = rows.select_related("source").order_by("tie_id", "id")
        for c in rows:
            by_tie[c.tie_id].append(c)
            if counts:
                total[c.tie_id] = getattr(c, "in_all", None) or len(by_tie[c.tie_id])
    for tie in ties:
        # Django's own prefetch cache: tie.citations.all() then reads this list.
        tie._prefetched_objects_cache = {"citations": by_tie[tie.pk]}  # type: ignore[attr-defined]
        if counts:
            tie.citation_count = total.get(tie.pk, 0)  # type: ignore[attr-defined]


def rollup_ties(
    entity: Entity,
    *,
    rollup: bool = False,
    to: Entity | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    include_structural: bool | None = None,
    max_depth: int | None = None,
    citations_limit: int | None = None,
    family: dict[int, list[int]] | None = None,
    defer_citations: bool = False,
    tie_ids: Sequence[int] | None = None,
) -> list[RolledTie]:
    """Ties of ``entity`` (and, with ``rollup``, of its family or tree).

    With ``to``, only ties whose other end is ``to`` (or, with ``rollup``, a
    member of ``to``'s family or tree). Ties inside the rolled-up family are
    left out unless ``include_structural``; without a rollup the entity's own
    ownership and part_of ties are listed like any other. ``family`` is the
    entity's ``family_paths`` for a caller that has them already. With
    ``citations_limit`` and ``defer_citations``, only ``citation_count`` is
    loaded: a caller showing a page of the ties calls
    ``prefetch_first_citations`` for that page alone. With ``tie_ids``, only
    those ties are loaded (a page picked with ``tie_listing``).
    """
    if not rollup:
        near = {entity.pk: [entity.pk]}
    else:
        near = family if family is not None else family_paths(entity.pk, max_depth)
    far: dict[int, list[int]] | None = None
    if to is not None:
        far = family_paths(to.pk, max_depth) if rollup else {to.pk: [to.pk]}
    if include_structural is None:
        include_structural = not rollup

    near_ids = list(near)
    found: dict[int, Tie] = {}
    for chunk in chunks(near_ids, _CHUNK):
        qs = _ties_touching(chunk)
        if kinds is not None:
            qs = qs.filter(kind__in=list(kinds))
        if statuses is not None:
            qs = qs.filter(status__in=list(statuses))
        if far is not None and len(far) <= _CHUNK:
            far_ids = list(far)
            qs = qs.filter(Q(subject_id__in=far_ids) | Q(object_id__in=far_ids))
        if tie_ids is not None:
            qs = qs.filter(pk__in=list(tie_ids))
        for tie in _with_receipts(qs, citations_limit, defer=defer_citations):
            if tie.subject.merged_into_id is None and tie.object.merged_into_id is None:
                found[tie.pk] = tie  # a merged entity is no end of a tie

    if citations_limit is not None and not defer_citations:
        prefetch_first_citations(list(found.values()), citations_limit)

    # Which ties count, and from which side, first: names are then loaded only
    # for the members on their paths, not for every member of both families.
    kept: list[tuple[Tie, bool]] = []
    needed: set[int] = set()
    for tie in found.values():
        s_in, o_in = tie.subject_id in near, tie.object_id in near
        if s_in and o_in and rollup and not include_structural:
            continue  # internal to the family: the structure itself, not a tie of it
        if far is not None:
            if s_in and tie.object_id in far:
                near_is_subject = True
            elif o_in and tie.subject_id in far:
                near_is_subject = False
            else:
                continue
        else:
            near_is_subject = s_in
        kept.append((tie, near_is_subject))
        needed.update(near[tie.subject_id if near_is_subject else tie.object_id])
        if far is not None:
            needed.update(far[tie.object_id if near_is_subject else tie.subject_id])
    names = Entity.objects.in_bulk(list(needed)) if needed else {}

    out: list[RolledTie] = []
    for tie, near_is_subject in kept:
        near_id = tie.subject_id if near_is_subject else tie.object_id
        far_id = tie.object_id if near_is_subject else tie.subject_id
        far_path: list[Entity] = []
        if far is not None:
            far_path = [names[i] for i in reversed(far[far_id])]
        out.append(
            RolledTie(
                tie=tie,
                near_path=[
                    names.get(i, tie.subject if near_is_subject else tie.object)
                    for i in near[near_id]
                ],
                far_path=far_path,
                near_is_subject=near_is_subject,
            )
        )
    out.sort(
        key=lambda r: (r.tie.kind, len(r.near_path), r.far_entity.name, r.tie.start_date, r.tie.pk)
    )
    return out


@dataclass(frozen=True)
class ListedTie:
    """A tie as a listing sorts it, read without loading the tie or its ends."""

    pk: int
    kind: str
    amount: Decimal | None


def tie_listing(
    entity: Entity, *, rollup: bool = False, family: dict[int, list[int]] | None = None
) -> list[ListedTie]:
    """The ties ``rollup_ties`` would give (no ``to``, no filters), in its order, as light rows.

    An agency can hold tens of thousands of ties after an import; a page picks
    its slice from these rows, then loads only that slice with ``tie_ids``.
    The rules match ``rollup_ties``: a merged entity is no end of a tie, and
    with a rollup the ties inside the family are left out.
    """
    if not rollup:
        near = {entity.pk: [entity.pk]}
    else:
        near = family if family is not None else family_paths(entity.pk)
    rows: dict[int, tuple[Any, ...]] = {}
    for chunk in chunks(list(near), _CHUNK):
        qs = _ties_touching(chunk).filter(live_through("subject", "object"))
        for row in qs.values_list(
            "pk",
            "kind",
            "subject_id",
            "object_id",
            "subject__name",
            "object__name",
            "start_date",
            "amount",
        ):
            rows[row[0]] = row
    keyed = []
    for pk, kind, subject_id, object_id, s_name, o_name, start, amount in rows.values():
        s_in, o_in = subject_id in near, object_id in near
        if s_in and o_in and rollup:
            continue  # internal to the family
        near_id, far_name = (subject_id, o_name) if s_in else (object_id, s_name)
        keyed.append(((kind, len(near[near_id]), far_name, start, pk), ListedTie(pk, kind, amount)))
    keyed.sort(key=lambda item: item[0])
    return [listed for _key, listed in keyed]


def _parent_edges(entity_id: int) -> dict[int, list[int]]:
    """Each entity above ``entity_id`` (and itself) mapped to its owners or parent bodies.

    One recursive query walks up every active ownership and part_of tie to
    ``settings.ROLLUP_MAX_DEPTH`` levels; parents come in the order of their ties.
    """
    table = connection.ops.quote_name(Tie._meta.db_table)
    sql = f"""
        WITH RECURSIVE up(child_id, parent_id, tie_id, depth) AS (
            SELECT CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(0 AS BIGINT), 0
            UNION
            SELECT u.parent_id,
                   CASE WHEN t.kind = %s THEN t.subject_id ELSE t.object_id END,
                   t.id,
                   u.depth + 1
            FROM up u
            JOIN {table} t
              ON (t.kind = %s AND t.object_id = u.parent_id)
              OR (t.kind = %s AND t.subject_id = u.parent_id)
            WHERE u.depth < %s AND t.status <> %s
        )
        SELECT DISTINCT child_id, parent_id, tie_id FROM up WHERE depth > 0
        ORDER BY child_id, tie_id
    """  # noqa: S608 - the table name is the model's own; every value is a parameter
    params = [
        entity_id,
        entity_id,
        str(TieKind.OWNS),
        str(TieKind.OWNS),
        str(TieKind.PART_OF),
        settings.ROLLUP_MAX_DEPTH,
        str(TieStatus.ENDED),
    ]
    edges: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for child, parent, _tie in cursor.fetchall():
            edges.setdefault(child, []).append(parent)
    return edges


def parents_of(entity: Entity) -> list[list[Entity]]:
    """Chains of owners or parent bodies above the entity, nearest first."""
    edges = _parent_edges(entity.pk)
    if not edges:
        return []
    names = Entity.objects.in_bulk({p for ups in edges.values() for p in ups})
    chains: list[list[Entity]] = []
    seen = {entity.pk}
    frontier: list[tuple[int, list[Entity]]] = [(entity.pk, [])]
    depth = 0
    # Breadth-first, so each entity is reached by a shortest chain and once.
    while frontier and depth < settings.ROLLUP_MAX_DEPTH:
        depth += 1
        nxt: list[tuple[int, list[Entity]]] = []
        for node, chain in frontier:
            ups = edges.get(node, [])
            if not ups and chain:
                chains.append(chain)
            for up in ups:
                if up in seen:
                    continue
                seen.add(up)
                nxt.append((up, [*chain, names[up]]))
        frontier = nxt
    chains.extend(chain for _node, chain in frontier if chain)
    return chains


# --- search and name resolution -------------------------------------------------


UNHELD = re.compile("[\x00\ufffd]")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def exact_matches(query: str) -> list[Entity]:
    """Entities whose name, alias, slug or identifier is exactly ``query`` (any case)."""
    q = _norm(query)
    if not q:
        return []
    by_text = Entity.objects.filter(search_text__contains=f"\n{q}\n")
    values = Q(value__iexact=query.strip())
    if query.strip().isdigit() and len(query.strip()) < 9:
        # A DUNS number that lost its leading zeros in a spreadsheet.
        values |= Q(scheme=IdentifierScheme.DUNS, value=query.strip().zfill(9))
    by_identifier = Entity.objects.filter(
        pk__in=Identifier.objects.filter(values).values("entity_id")
    )
    found = (by_text | by_identifier).live()
    return list(found.distinct().order_by("name"))


def search_entities(query: str, limit: int = 50) -> list[Entity]:
    """Exact matches first, then entities whose names, aliases or identifiers contain the query."""
    q = _norm(query)
    if not q:
        return []
    exact = exact_matches(query)
    seen = {e.pk for e in exact}
    # Partial matches start at a word: "ice" finds "ICE Health Service Corps",
    # not "Justice"; "amaz" finds Amazon.
    word_start = Q(search_text__contains=f"\n{q}") | Q(search_text__contains=f" {q}")
    # Punctuation aside, through the slug: "whitaker lindqvist" finds "WHITAKER & LINDQVIST".
    # (Not for text with characters no name holds, a NUL or its replacement U+FFFD,
    # which the slug would drop.)
    as_slug = "" if UNHELD.search(query) else slugify(query)
    if as_slug and as_slug != q:
        word_start |= Q(search_text__contains=f"\n{as_slug}") | Q(
            search_text__contains=f"-{as_slug}"
        )
    partial = (
        Entity.objects.live()
        .filter(word_start)
        .exclude(pk__in=seen)
        .order_by("name")[: max(limit - len(exact), 0)]
    )
    return [*exact, *partial][:limit]


def surviving_entity(entity: Entity) -> Entity:
    """The entity that ``entity`` was merged into, following merges of merges; else itself."""
    seen = {entity.pk}
    while entity.merged_into_id is not None and entity.merged_into_id not in seen:
        seen.add(entity.merged_into_id)
        entity = Entity.objects.get(pk=entity.merged_into_id)
    return entity


class NameNotFound(LookupError):
    def __init__(self, query: str) -> None:
        super().__init__(f"no entity matches {query!r}")
        self.query = query


class NameAmbiguous(LookupError):
    def __init__(self, query: str, candidates: list[Entity]) -> None:
        listed = "; ".join(f"{e.name} ({e.slug})" for e in candidates[:10])
        more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(f"{query!r} is ambiguous: {listed}{more}")
        self.query = query
        self.candidates = candidates


def resolve_entity(query: str) -> Entity:
    """One entity for a name, alias, slug or identifier; an exact match wins.

    Raises NameNotFound or NameAmbiguous (listing candidates) otherwise.
    """
    exact = exact_matches(query)
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise NameAmbiguous(query, exact)
    partial = search_entities(query, limit=11)
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise NameNotFound(query)
    raise NameAmbiguous(query, partial)


def uncited_ties() -> QuerySet[Tie]:
    return Tie.objects.filter(citations__isnull=True).select_related("subject", "object")


def structural_cycles() -> list[list[Entity]]:
    """Cycles among ownership and part_of ties (of any status), each once."""
    edges: dict[int, set[int]] = {}
    for kind, s, o in Tie.objects.filter(kind__in=[TieKind.OWNS, TieKind.PART_OF]).values_list(
        "kind", "subject_id", "object_id"
    ):
        parent, child = (s, o) if kind == TieKind.OWNS else (o, s)
        edges.setdefault(parent, set()).add(child)
    # Iterative DFS with colours: grey nodes on the stack close a cycle.
    white, grey, black = 0, 1, 2
    colour: dict[int, int] = {}
    cycles: list[list[int]] = []
    for start in list(edges):
        if colour.get(start, white) != white:
            continue
        stack: list[tuple[int, Iterator[int]]] = [(start, iter(sorted(edges.get(start, ()))))]
        path = [start]
        colour[start] = grey
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            c = colour.get(child, white)
            if c == grey:
                cycles.append(path[path.index(child) :] + [child])
            elif c == white:
                colour[child] = grey
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    names = Entity.objects.in_bulk({i for cyc in cycles for i in cyc})
    return [[names[i] for i in cyc] for cyc in cycles]
