"""Which entities a profile flags, and through which ties: ``rollup_ties`` for many entities at once.

An entity is flagged when it, or a member of its corporate family, has a tie
of the profile's kinds and statuses whose other end is one of the profile's
agencies or a member of its tree: exactly the ties
``rollup_ties(entity, rollup=True, kinds=..., statuses=...)`` lists with
their other end in ``family_paths(agency)``, with the same paths and order.

``rollup_ties`` costs a handful of queries per entity; a list of 100,000
holdings names thousands of entities. ``ProfileTies`` reads the profile's ties
once, then walks up from their ends through live ownership and part_of ties,
as far as a rollup reaches (``ROLLUP_MAX_DEPTH``). That walk finds every
entity that can be flagged, and the ownership edges among them are all a
family walk needs to reach the tied members: every member on a shortest path
from an entity down to a tied member is itself an owner of that member. The
walk down from each entity then runs in memory, breadth first, taking at each
level the lowest parent id first, as ``family_paths`` does, so the paths are
the ones the rollup pages show. Receipts, contract totals and names are then
read in batches for the entities a batch of lines needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from receipts.contracts.queries import obligated_cents_by_tie
from receipts.evidence.bulk import chunks
from receipts.evidence.models import Citation, Entity, Tie, TieKind, TieStatus, live_through
from receipts.evidence.queries import RolledTie, family_paths

from .queries import ProfileSpec

# Receipts kept per tie: an imported contract tie can cite thousands of award
# records; the report shows the first few and how many there are.
RECEIPTS_PER_TIE = 3
# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000


@dataclass(slots=True)
class Receipt:
    """A source behind a tie, as the report shows it."""

    source_id: int
    title: str
    publisher: str
    published: str
    url: str
    locator: str
    quote: str


@dataclass(slots=True)
class TieFinding:
    """A tie that flags: its path from the screened entity, its status, its receipts."""

    tie_id: int
    path: str
    kind: str
    status: str
    start_date: str
    end_date: str
    summary: str
    agency_id: int
    agency_name: str
    agency_slug: str
    obligated_cents: int | None
    receipts: list[Receipt]
    receipt_count: int


@dataclass(slots=True)
class EntityFinding:
    """What the evidence says of one entity under the profile; shared by every line naming it."""

    entity_id: int
    name: str
    slug: str
    ties: list[TieFinding] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.ties)

    @property
    def obligated_by_agency(self) -> dict[str, int]:
        """Contract obligations in cents per agency at the far end, largest first."""
        sums: dict[str, int] = {}
        for t in self.ties:
            if t.obligated_cents is not None:
                sums[t.agency_name] = sums.get(t.agency_name, 0) + t.obligated_cents
        return dict(sorted(sums.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def obligated_cents(self) -> int | None:
        sums = self.obligated_by_agency
        return sum(sums.values()) if sums else None

    def why(self, limit: int = 3) -> str:
        parts = [f"{t.path} ({t.status})" for t in self.ties[:limit]]
        more = len(self.ties) - limit
        if more > 0:
            parts.append(f"and {more} more tie{'s' if more > 1 else ''}")
        return "; ".join(parts)


@dataclass(slots=True, frozen=True)
class _TieRow:
    """A tie the profile counts, seen from its end outside the agency trees."""

    tie_id: int
    near_id: int
    far_id: int
    near_is_subject: bool
    kind: str
    status: str
    start_date: str
    end_date: str
    summary: str


class ProfileTies:
    """The ties a profile counts, and the families that reach them; see the module docstring."""

    def __init__(self, profile: ProfileSpec) -> None:
        self.profile = profile
        # Member of a profile agency's tree -> its path of ids from that agency down.
        self.agency_paths: dict[int, list[int]] = {}
        for agency in profile.agencies:
            for member, path in family_paths(agency.pk).items():
                known = self.agency_paths.get(member)
                if known is None or len(path) < len(known):
                    self.agency_paths[member] = path
        self._ties_of: dict[int, list[_TieRow]] = {}
        self._children: dict[int, set[int]] = {}
        self._reachable: set[int] = set()
        self._read_ties()
        self._walk_up()
        self._names: dict[int, Entity] = {}
        self._receipts: dict[int, tuple[list[Receipt], int]] = {}
        self._totals: dict[int, int | None] = {}
        self._findings: dict[int, EntityFinding] = {}

    def _read_ties(self) -> None:
        agencies = self.agency_paths
        seen: set[int] = set()
        for chunk in chunks(sorted(agencies), _CHUNK):
            rows = (
                Tie.objects.filter(
                    Q(subject_id__in=chunk) | Q(object_id__in=chunk),
                    # A merged entity is no end of a tie (as in rollup_ties).
                    live_through("subject", "object"),
                    kind__in=list(self.profile.kinds),
                    status__in=list(self.profile.statuses),
                )
                .order_by()
                .values_list(
                    "id",
                    "subject_id",
                    "object_id",
                    "kind",
                    "status",
                    "start_date",
                    "end_date",
                    "summary",
                )
            )
            for tie_id, subject_id, object_id, kind, status, start, end, summary in rows:
                if tie_id in seen:
                    continue
                seen.add(tie_id)
                # Seen from each end whose other end is in the trees: with both ends
                # there (an agency's own dealings), from either, as rollup_ties sees it.
                if object_id in agencies:
                    row = _TieRow(
                        tie_id, subject_id, object_id, True, kind, status, start, end, summary
                    )
                    self._ties_of.setdefault(subject_id, []).append(row)
                if subject_id in agencies:
                    row = _TieRow(
                        tie_id, object_id, subject_id, False, kind, status, start, end, summary
                    )
                    self._ties_of.setdefault(object_id, []).append(row)

    def _walk_up(self) -> None:
        """Every owner (or parent body) above a tied entity, within a rollup's depth.

        The far ends are walked from too: a family that holds the far end of one
        of its ties (an agency owned by a company, in a damaged graph) does not
        count that tie, as rollup_ties does not, and must see that it holds it.
        """
        found = set(self._ties_of)
        found.update(row.far_id for rows in self._ties_of.values() for row in rows)
        frontier = sorted(found)
        depth = 0
        while frontier and depth < settings.ROLLUP_MAX_DEPTH:
            depth += 1
            above: list[int] = []
            for chunk in chunks(frontier, _CHUNK):
                rows = (
                    Tie.objects.filter(
                        Q(kind=TieKind.OWNS, object_id__in=chunk)
                        | Q(kind=TieKind.PART_OF, subject_id__in=chunk)
                    )
                    .exclude(status=TieStatus.ENDED)
                    .order_by()
                    .values_list("kind", "subject_id", "object_id")
                )
                for kind, subject_id, object_id in rows:
                    parent, child = (
                        (subject_id, object_id) if kind == TieKind.OWNS else (object_id, subject_id)
                    )
                    self._children.setdefault(parent, set()).add(child)
                    if parent not in found:
                        found.add(parent)
                        above.append(parent)
            frontier = sorted(above)
        self._reachable = found

    def can_flag(self, entity_id: int) -> bool:
        return entity_id in self._reachable

    def _family_paths(self, root: int) -> dict[int, list[int]]:
        """``family_paths(root)`` restricted to the members that lead to a counted tie."""
        paths = {root: [root]}
        frontier = [root]
        depth = 0
        while frontier and depth < settings.ROLLUP_MAX_DEPTH:
            depth += 1
            edges = sorted((p, c) for p in frontier for c in self._children.get(p, ()))
            nxt: list[int] = []
            for parent, child in edges:
                if child not in paths:
                    paths[child] = [*paths[parent], child]
                    nxt.append(child)
            frontier = sorted(nxt)
        return paths

    # --- findings -------------------------------------------------------------------------

    def findings(self, entities: Iterable[Entity]) -> dict[int, EntityFinding]:
        """The finding of each entity, computed once and cached; receipts read in batches."""
        todo = [e for e in dict.fromkeys(entities) if e.pk not in self._findings]
        routes: dict[int, list[tuple[_TieRow, list[int]]]] = {}
        for entity in todo:
            self._findings[entity.pk] = EntityFinding(entity.pk, entity.name, entity.slug)
            self._names.setdefault(entity.pk, entity)
            if not self.can_flag(entity.pk):
                continue
            family = self._family_paths(entity.pk)
            routes[entity.pk] = [
                (row, path)
                for member, path in family.items()
                for row in self._ties_of.get(member, ())
                if row.far_id not in family  # internal to the family: not a tie of it
            ]
        rows = [row for found in routes.values() for row, _path in found]
        self._load_names(
            {i for found in routes.values() for _row, path in found for i in path}
            | {i for row in rows for i in self.agency_paths[row.far_id]}
        )
        self._load_receipts(sorted({row.tie_id for row in rows}))
        self._load_totals(sorted({row.tie_id for row in rows if row.kind == TieKind.CONTRACT}))
        for entity_id, found in routes.items():
            built = [(row, len(path), self._tie_finding(row, path)) for row, path in found]
            # The order of rollup_ties: kind, nearest first, far end's name, start, id.
            built.sort(
                key=lambda b: (b[0].kind, b[1], b[2].agency_name, b[0].start_date, b[0].tie_id)
            )
            self._findings[entity_id].ties = [finding for _row, _depth, finding in built]
        return self._findings

    def _tie_finding(self, row: _TieRow, near_path: list[int]) -> TieFinding:
        far = self._names[row.far_id]
        rolled = RolledTie(
            tie=Tie(pk=row.tie_id, kind=row.kind),
            near_path=[self._names[i] for i in near_path],
            far_path=[self._names[i] for i in reversed(self.agency_paths[row.far_id])],
            near_is_subject=row.near_is_subject,
        )
        receipts, count = self._receipts.get(row.tie_id, ([], 0))
        return TieFinding(
            tie_id=row.tie_id,
            path=rolled.path_text(),
            kind=row.kind,
            status=row.status,
            start_date=row.start_date,
            end_date=row.end_date,
            summary=row.summary,
            agency_id=far.pk,
            agency_name=far.name,
            agency_slug=far.slug,
            obligated_cents=self._totals.get(row.tie_id),
            receipts=receipts,
            receipt_count=count,
        )

    def _load_names(self, ids: set[int]) -> None:
        missing = sorted(ids - set(self._names))
        for chunk in chunks(missing, _CHUNK):
            self._names.update(
                (e.pk, e)
                for e in Entity.objects.filter(pk__in=chunk).only("id", "name", "slug", "kind")
            )

    def _load_receipts(self, tie_ids: list[int]) -> None:
        """The first receipts of each tie and how many it has, in two queries per chunk."""
        missing = [i for i in tie_ids if i not in self._receipts]
        for chunk in chunks(missing, _CHUNK):
            counts = dict(
                Citation.objects.filter(tie_id__in=chunk)
                .order_by()
                .values("tie_id")
                .annotate(n=Count("id"))
                .values_list("tie_id", "n")
            )
            first: dict[int, list[Receipt]] = {i: [] for i in chunk}
            citations = (
                Citation.objects.filter(tie_id__in=chunk)
                .annotate(
                    rank=Window(RowNumber(), partition_by=F("tie_id"), order_by=F("id").asc())
                )
                .filter(rank__lte=RECEIPTS_PER_TIE)
                .select_related("source")
                .order_by("tie_id", "id")
            )
            for c in citations:
                first[c.tie_id].append(
                    Receipt(
                        source_id=c.source_id,
                        title=c.source.title,
                        publisher=c.source.publisher,
                        published=c.source.published,
                        url=c.source.url,
                        locator=c.locator,
                        quote=c.quote,
                    )
                )
            for tie_id in chunk:
                self._receipts[tie_id] = (first[tie_id], counts.get(tie_id, 0))

    def _load_totals(self, tie_ids: list[int]) -> None:
        missing = [i for i in tie_ids if i not in self._totals]
        for chunk in chunks(missing, _CHUNK):
            found = obligated_cents_by_tie(chunk)
            for tie_id in chunk:
                self._totals[tie_id] = found.get(tie_id)
