"""Site search over entities, campaigns and sources that forgives typos ("amazn" finds Amazon).

Two steps, the same on SQLite and PostgreSQL. First the database answers
what it can answer exactly (names, aliases and identifiers that equal or start
with the query, titles that contain it). Then a fuzzy step ranks names with
rapidfuzz: each process keeps the lower-cased names of every entity (and the
titles of every source) in memory as one list, reloaded only when the table's
row count or newest change moves, and ``rapidfuzz.process.extract`` scans that
list in C. 100,000 names take a few megabytes and tens of milliseconds to
scan, so no database extension (pg_trgm, FTS5) is needed and both databases
give the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q
from rapidfuzz import fuzz, process, utils

from receipts.campaigns import access
from receipts.campaigns.models import Campaign
from receipts.evidence import queries
from receipts.evidence.models import Entity, Source

# A fuzzy match below this score (0-100, rapidfuzz's ratio) is noise.
FUZZY_CUTOFF = 80
# Words of a name this long or longer are also matched alone: "amzon" is far
# from "amazon web services" as a whole but one letter from its first word.
WORD_MIN_LENGTH = 4
# Queries shorter than this are not matched fuzzily: two letters match everything.
FUZZY_MIN_LENGTH = 3


@dataclass
class _NameList:
    """One model's names as rapidfuzz reads them, with the row each came from."""

    signature: tuple[Any, ...] = ()
    names: list[str] = field(default_factory=list)
    row_ids: list[int] = field(default_factory=list)


def _choices(texts: list[str]) -> list[str]:
    """The strings a row is matched by: each name whole, and its longer words alone."""
    out: list[str] = []
    for text in texts:
        whole = utils.default_process(text)
        for choice in (whole, *(w for w in whole.split() if len(w) >= WORD_MIN_LENGTH)):
            if choice and choice not in out:
                out.append(choice)
    return out


class FuzzyNames:
    """A per-process list of names of one model, reloaded when its signature changes."""

    def __init__(
        self,
        signature: Callable[[], tuple[Any, ...]],
        rows: Callable[[], list[tuple[int, list[str]]]],
    ) -> None:
        self._signature = signature
        self._rows = rows
        self._list = _NameList()
        self._lock = threading.Lock()

    def _current(self) -> _NameList:
        signature = self._signature()
        with self._lock:
            if signature != self._list.signature:
                names: list[str] = []
                row_ids: list[int] = []
                for pk, texts in self._rows():
                    for choice in _choices(texts):
                        names.append(choice)
                        row_ids.append(pk)
                self._list = _NameList(signature, names, row_ids)
            return self._list

    def forget(self) -> None:
        """Drop the loaded list: the next search loads it again (tests start from here)."""
        with self._lock:
            self._list = _NameList()

    def match(self, query: str, limit: int) -> list[int]:
        """Row ids whose names match ``query`` best, best first, each once."""
        wanted = utils.default_process(query)
        if len(wanted) < FUZZY_MIN_LENGTH:
            return []
        current = self._current()
        # Plain edit-distance ratio: WRatio weighs more but is fifteen times slower
        # over a few hundred thousand names; matching words alone makes up for it.
        found = process.extract(
            wanted,
            current.names,
            scorer=fuzz.ratio,
            processor=None,
            limit=limit * 3,
            score_cutoff=FUZZY_CUTOFF,
        )
        ids: list[int] = []
        for _name, _score, index in found:
            pk = current.row_ids[index]
            if pk not in ids:
                ids.append(pk)
        return ids[:limit]


def _entity_signature() -> tuple[Any, ...]:
    got = Entity.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    return (got["n"], got["changed"])


def _entity_rows() -> list[tuple[int, list[str]]]:
    rows = Entity.objects.live().values_list("pk", "name", "aliases")
    return [
        (pk, [name, *(a for a in (aliases or []) if isinstance(a, str))])
        for pk, name, aliases in rows
    ]


def _source_signature() -> tuple[Any, ...]:
    got = Source.objects.aggregate(n=Count("id"), last=Max("id"))
    return (got["n"], got["last"])


def _source_rows() -> list[tuple[int, list[str]]]:
    return [(pk, [title]) for pk, title in Source.objects.values_list("pk", "title")]


ENTITY_NAMES = FuzzyNames(_entity_signature, _entity_rows)
SOURCE_TITLES = FuzzyNames(_source_signature, _source_rows)


@dataclass
class SearchResults:
    """What the search page lists, each kind best first."""

    entities: list[Entity]
    campaigns: list[Campaign]
    sources: list[Source]
    fuzzy: bool = False

    @property
    def empty(self) -> bool:
        return not (self.entities or self.campaigns or self.sources)


def search_entities(query: str, limit: int = 50) -> tuple[list[Entity], bool]:
    """Exact and word-start matches first; then, if there are few, close spellings.

    The flag says whether any entity came from the fuzzy step.
    """
    found = queries.search_entities(query, limit)
    if len(found) >= limit:
        return found, False
    seen = {e.pk for e in found}
    extra = [pk for pk in ENTITY_NAMES.match(query, limit) if pk not in seen]
    by_pk = Entity.objects.live().filter(pk__in=extra).in_bulk()
    fuzzy = [by_pk[pk] for pk in extra if pk in by_pk]
    return [*found, *fuzzy][:limit], bool(fuzzy)


def search_campaigns(user: Any, query: str, limit: int = 20) -> list[Campaign]:
    """Campaigns the user may see whose name or summary matches, typos forgiven."""
    wanted = utils.default_process(query)
    if not wanted:
        return []
    visible = list(access.visible_campaigns(user).only("pk", "slug", "name", "summary", "status"))
    scored: list[tuple[float, Campaign]] = []
    for campaign in visible:
        name = utils.default_process(campaign.name)
        score = max(
            fuzz.WRatio(wanted, name),
            fuzz.partial_ratio(wanted, utils.default_process(campaign.summary))
            if len(wanted) >= FUZZY_MIN_LENGTH + 1
            else 0,
        )
        if wanted in name or score >= FUZZY_CUTOFF:
            scored.append((100 if wanted in name else score, campaign))
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    return [c for _s, c in scored[:limit]]


def search_sources(query: str, limit: int = 30) -> list[Source]:
    """Sources whose title, publisher or address contains every word; then close titles."""
    words = query.split()
    if not words:
        return []
    match = Q()
    for word in words[:8]:
        match &= Q(title__icontains=word) | Q(publisher__icontains=word) | Q(url__icontains=word)
    found = list(Source.objects.filter(match).order_by("-published", "title")[:limit])
    if len(found) < limit:
        seen = {s.pk for s in found}
        extra = [pk for pk in SOURCE_TITLES.match(query, limit) if pk not in seen]
        by_pk = Source.objects.in_bulk(extra)
        found += [by_pk[pk] for pk in extra if pk in by_pk]
    return found[:limit]


def search(user: Any, query: str) -> SearchResults:
    entities, fuzzy = search_entities(query)
    return SearchResults(
        entities=entities,
        campaigns=search_campaigns(user, query),
        sources=search_sources(query),
        fuzzy=fuzzy,
    )
