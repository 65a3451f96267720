"""The screening engine: each line of a holdings or vendor list matched, then judged by a profile.

Matching, identifiers first, then names, by the rules the imports use:

1. Identifiers (LEI, UEI, DUNS padded to nine digits, ISIN, CUSIP, ticker;
   the CUSIP inside a US or Canadian ISIN too) name one entity each, followed
   through merges. Identifiers of one line that name two entities make the
   line uncertain.
2. Else the name: the same name key (``ingest.resolution.name_key``) as one
   company's or organisation's name or alias is a match; the same key on
   two entities is uncertain. A legal form on one side only is no
   difference: "Amazon Web Services Inc" matches an entity named "Amazon
   Web Services" (the words before the legal forms, as ``parse_name``
   splits them with rigour's table of legal forms, are the same), as long
   as no other entity has those words.
3. Else near names: ``names_match`` at ``REVIEW_THRESHOLD`` or above (and at
   ``MATCH_THRESHOLD`` or above too: a name alone never decides, as in the
   imports) is uncertain.

Judging: a matched entity is *flagged* when it, or a member of its corporate
family (``rollup_ties(entity, rollup=True)``: a holding in Amazon is flagged
for AWS's hosting of ICE), has a tie of the profile's kinds and statuses whose
other end is one of the profile's agencies or their components; otherwise
*clear*. Clear always means matched, with no tie the profile counts. An
uncertain match is never flagged and never silently cleared: the line is
*possible*, listing its candidates and saying which of them would be
flagged. A line that matches no entity (or names none) is *not found*:
nothing is known of it, so it is neither flagged nor clear.

The share flagged is given twice, each saying its basis: of the value (or
weight) of every line screened, and of the lines matched (flagged or clear).

Lines sharing an entity share one finding: identifiers are looked up in
batches of lines, names once each, and the ties behind each entity once,
for a whole batch at a time (``flags.ProfileTies``).

A caller within a web request gives ``cpu_seconds``: the screen stops with
``OverBudget`` once it has used that much processor time of its thread,
checked as each line is read and as each is matched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from receipts.evidence.bulk import chunks
from receipts.evidence.models import Entity, EntityKind, Identifier
from receipts.ingest.resolution import REVIEW_THRESHOLD, NameIndex, name_key, parse_name

from .flags import EntityFinding, ProfileTies
from .queries import ProfileSpec
from .reading import IDENTIFIER_FIELDS, Columns, HoldingsFile, InputLine, ReadLimits, TooLarge

FLAGGED = "flagged"
POSSIBLE = "possible"
CLEAR = "clear"
NOT_FOUND = "not_found"
STATUSES = (FLAGGED, POSSIBLE, CLEAR, NOT_FOUND)
# How each status reads in tables and pages ("not_found" is the value in JSON and CSV).
STATUS_LABELS = {FLAGGED: "flagged", POSSIBLE: "possible", CLEAR: "clear", NOT_FOUND: "not found"}

# Lines screened together: one identifier query per scheme per batch.
BATCH_LINES = 2000
# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000
# Kinds of entity a holding or vendor can be.
NAMED_KINDS = (EntityKind.COMPANY, EntityKind.ORGANIZATION)

IDENTIFIER_LABELS = {
    "lei": "LEI",
    "uei": "UEI",
    "duns": "DUNS",
    "isin": "ISIN",
    "cusip": "CUSIP",
    "ticker": "ticker",
    "cusip_in_isin": "CUSIP in the ISIN",
}

Progress = Callable[[int, int | None, int], None]


def _no_progress(bytes_done: int, bytes_total: int | None, lines: int) -> None:
    pass


class OverBudget(TooLarge):
    """The screen used more processor time than its caller allows; nothing is reported."""


class CpuBudget:
    """Processor time of the calling thread, counted from creation; ``check`` raises past it.

    Thread time, not wall time: a server thread waiting for its turn on a busy
    machine is not charged for the wait.
    """

    def __init__(self, seconds: float, display: str) -> None:
        self.seconds = seconds
        self.display = display
        self.started = time.thread_time()

    def check(self, line: int) -> None:
        if time.thread_time() - self.started >= self.seconds:
            raise OverBudget(
                f"{self.display}: screening stopped at line {line:,}, past "
                f"{self.seconds:g} seconds of processor time",
                f"{self.seconds:g} seconds of processor time",
            )


@dataclass(slots=True)
class Candidate:
    """An entity an uncertain line may be, and how alike they are."""

    finding: EntityFinding
    how: str
    score: float | None = None


@dataclass(slots=True)
class ScreenedLine:
    """A line of the file with its status, the entity it matched and why."""

    input: InputLine
    status: str
    reason: str
    matched_by: str = ""
    finding: EntityFinding | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class ScreeningReport:
    """Every line of one file, screened against one profile, with the share of value flagged."""

    file: str
    profile: ProfileSpec
    columns: Columns
    lines: list[ScreenedLine]
    delimiter: str
    encoding: str
    blank_lines: int
    seconds: float
    share_basis: str | None = None
    flagged_value_share: float | None = None
    possible_value_share: float | None = None
    flagged_share_of_matched: float | None = None
    share_note: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def lines_with(self, status: str) -> list[ScreenedLine]:
        return [line for line in self.lines if line.status == status]


@dataclass(slots=True)
class _Resolution:
    """Where a line's identifiers or name led, before the evidence is read."""

    entity_id: int | None = None
    matched_by: str = ""
    candidates: list[tuple[int, str, float | None]] = field(default_factory=list)
    tried: str = ""


class NameMatcher:
    """Names and aliases of live companies and organisations, compared by the import's rules.

    Built on the index the USAspending import uses to queue look-alikes for
    review, so "alike" means the same here as there.
    """

    def __init__(self) -> None:
        self.indexes = [NameIndex(kind) for kind in NAMED_KINDS]
        # Words before the legal forms -> entity id -> whether a name of it with
        # those words has no legal form.
        self.by_core: dict[str, dict[int, bool]] = {}
        for index in self.indexes:
            for block in index.blocks.values():
                for entity_id, parsed in zip(block.entity_ids, block.parsed, strict=True):
                    bare = self.by_core.setdefault(parsed.core_text, {})
                    bare[entity_id] = bare.get(entity_id, False) or not parsed.forms

    def exact(self, name: str) -> list[int]:
        key = name_key(name)
        return sorted({i for index in self.indexes for i in index.by_key.get(key, {})})

    def same_but_legal_form(self, name: str) -> list[int]:
        """Entities with the same words before the legal forms, a form on one side only."""
        parsed = parse_name(name)
        found = self.by_core.get(parsed.core_text, {})
        if not parsed.forms:
            return sorted(found)
        return sorted(i for i, bare in found.items() if bare)

    def near(self, name: str) -> list[tuple[int, float]]:
        best: dict[int, float] = {}
        for index in self.indexes:
            for entity_id, score, _ours, _theirs in index.candidates([name], exclude=0):
                if score >= REVIEW_THRESHOLD and score > best.get(entity_id, 0.0):
                    best[entity_id] = score
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


def _near_how(score: float) -> str:
    return f"near name, similarity {score:.0f}"


def cusip_in_isin(isin: str) -> str:
    """The CUSIP inside a US or Canadian ISIN ("US0231351067" -> "023135106"), else ""."""
    if len(isin) == 12 and isin[:2] in ("US", "CA"):
        return isin[2:11]
    return ""


class Screener:
    """Screens lines against one profile, caching what lines share."""

    def __init__(self, profile: ProfileSpec, budget: CpuBudget | None = None) -> None:
        self.profile = profile
        self.budget = budget
        self.ties = ProfileTies(profile)
        self._entities: dict[int, Entity] = {}
        self._identifiers: dict[tuple[str, str], int | None] = {}
        self._names: dict[str, tuple[list[int], list[int], list[tuple[int, float]]]] = {}
        self._matcher: NameMatcher | None = None

    # --- matching -----------------------------------------------------------------------

    def _lookup_identifiers(self, lines: Sequence[InputLine]) -> None:
        wanted: dict[str, set[str]] = {}
        for line in lines:
            for scheme, value in line.identifiers.items():
                if (scheme, value) not in self._identifiers:
                    wanted.setdefault(scheme, set()).add(value)
            embedded = cusip_in_isin(line.identifiers.get("isin", ""))
            if embedded and ("cusip", embedded) not in self._identifiers:
                wanted.setdefault("cusip", set()).add(embedded)
        found: dict[tuple[str, str], int] = {}
        for scheme, values in wanted.items():
            for chunk in chunks(sorted(values), _CHUNK):
                hits = dict(
                    Identifier.objects.filter(scheme=scheme, value__in=chunk).values_list(
                        "value", "entity_id"
                    )
                )
                for value in chunk:
                    entity_id = hits.get(value)
                    self._identifiers[(scheme, value)] = entity_id
                    if entity_id is not None:
                        found[(scheme, value)] = entity_id
        self._load_entities(found.values())
        # An identifier of a merged entity leads to the entity it was merged into.
        for key, entity_id in found.items():
            self._identifiers[key] = self._survivor(entity_id)

    def _load_entities(self, ids: Iterable[int]) -> None:
        missing = sorted(set(ids) - set(self._entities))
        for chunk in chunks(missing, _CHUNK):
            for entity in Entity.objects.filter(pk__in=chunk).only(
                "id", "name", "slug", "kind", "merged_into_id"
            ):
                self._entities[entity.pk] = entity

    def _survivor(self, entity_id: int) -> int:
        seen = {entity_id}
        entity = self._entities[entity_id]
        while entity.merged_into_id is not None and entity.merged_into_id not in seen:
            seen.add(entity.merged_into_id)
            self._load_entities([entity.merged_into_id])
            entity = self._entities[entity.merged_into_id]
        return entity.pk

    def _names_of(self, name: str) -> tuple[list[int], list[int], list[tuple[int, float]]]:
        """Entities with the same name key; else with the same name but a legal form; else near."""
        cached = self._names.get(name)
        if cached is None:
            if self._matcher is None:
                self._matcher = NameMatcher()
            exact = self._matcher.exact(name)
            bare = [] if exact else self._matcher.same_but_legal_form(name)
            cached = (exact, bare, [] if exact or bare else self._matcher.near(name))
            self._names[name] = cached
        return cached

    def _resolve(self, line: InputLine) -> _Resolution:
        by_entity: dict[int, list[str]] = {}
        tried: list[str] = []
        for scheme in IDENTIFIER_FIELDS:
            value = line.identifiers.get(scheme)
            if value is None:
                continue
            tried.append(f"{IDENTIFIER_LABELS[scheme]} {value}")
            entity_id = self._identifiers.get((scheme, value))
            if entity_id is not None:
                by_entity.setdefault(entity_id, []).append(scheme)
        embedded = cusip_in_isin(line.identifiers.get("isin", ""))
        if embedded and not by_entity and line.identifiers.get("cusip") != embedded:
            entity_id = self._identifiers.get(("cusip", embedded))
            if entity_id is not None:
                by_entity.setdefault(entity_id, []).append("cusip_in_isin")
        if len(by_entity) == 1:
            entity_id, schemes = next(iter(by_entity.items()))
            return _Resolution(entity_id, " and ".join(IDENTIFIER_LABELS[s] for s in schemes))
        if by_entity:
            return _Resolution(
                candidates=[
                    (i, " and ".join(IDENTIFIER_LABELS[s] for s in schemes), None)
                    for i, schemes in by_entity.items()
                ],
                tried="identifiers that name different entities",
            )
        if line.name:
            tried.append(f"the name {line.name!r}")
            exact, bare, near = self._names_of(line.name)
            if len(exact) == 1:
                return _Resolution(exact[0], "name")
            if exact:
                return _Resolution(
                    candidates=[(i, "the same name", 100.0) for i in exact],
                    tried="a name that several entities have",
                )
            if len(bare) == 1:
                return _Resolution(bare[0], "name, legal form aside")
            if bare:
                return _Resolution(
                    candidates=[(i, "the same name, legal form aside", None) for i in bare],
                    tried="a name that several entities have, legal forms aside",
                )
            if near:
                return _Resolution(candidates=[(i, _near_how(s), s) for i, s in near])
        return _Resolution(tried=" or ".join(tried))

    # --- lines -----------------------------------------------------------------------------

    def screen_lines(self, lines: Sequence[InputLine]) -> list[ScreenedLine]:
        self._lookup_identifiers(lines)
        resolutions = []
        for line in lines:
            if self.budget is not None:
                self.budget.check(line.line)
            resolutions.append(self._resolve(line))
        ids = {
            i
            for r in resolutions
            for i in ([r.entity_id] if r.entity_id is not None else [c[0] for c in r.candidates])
        }
        self._load_entities(ids)
        findings = self.ties.findings(self._entities[i] for i in sorted(ids))
        return [self._judge(line, r, findings) for line, r in zip(lines, resolutions, strict=True)]

    def _judge(
        self, line: InputLine, r: _Resolution, findings: dict[int, EntityFinding]
    ) -> ScreenedLine:
        if r.entity_id is not None:
            found = findings[r.entity_id]
            if found.flagged:
                return ScreenedLine(line, FLAGGED, found.why(), r.matched_by, found)
            return ScreenedLine(line, CLEAR, self.no_ties_text(found.name), r.matched_by, found)
        if r.candidates:
            candidates = [Candidate(findings[i], how, score) for i, how, score in r.candidates]
            tied = [c for c in candidates if c.finding.flagged]
            names = "; ".join(f"{c.finding.name} ({c.how})" for c in candidates)
            what = f" ({r.tried})" if r.tried else ""
            if tied:
                reason = f"uncertain match{what}: may be {names}; " + "; ".join(
                    f"{c.finding.name} is tied: {c.finding.why(1)}" for c in tied
                )
                return ScreenedLine(line, POSSIBLE, reason, candidates=candidates)
            reason = f"uncertain match{what}: may be {names}; none of them is tied"
            return ScreenedLine(line, POSSIBLE, reason, candidates=candidates)
        if not line.identifiers and not line.name:
            return ScreenedLine(line, NOT_FOUND, "nothing to match: no identifier or name")
        return ScreenedLine(line, NOT_FOUND, f"no entity with {r.tried}")

    def no_ties_text(self, name: str) -> str:
        agencies = " or ".join(a.name for a in self.profile.agencies)
        *rest, last = self.profile.statuses
        statuses = f"{', '.join(rest)} or {last}" if rest else last
        return f"no {statuses} ties of {name} or its subsidiaries to {agencies} or its components"


def _share(lines: list[ScreenedLine], has_value: bool, has_weight: bool) -> dict[str, object]:
    """The share flagged (and possible), by value, else by weight: of every line screened,
    and of the lines matched (flagged or clear). Lines without the figure count in neither."""
    basis = None
    if any(line.input.value is not None for line in lines):
        basis = "value"
    elif any(line.input.weight is not None for line in lines):
        basis = "weight"
    if basis is None:
        note = (
            "no line has a readable value or weight: the share flagged is not computed"
            if has_value or has_weight
            else "the file has no value or weight column: the share flagged is not computed"
        )
        return {"share_basis": None, "share_note": note}
    total = Decimal(0)
    matched = Decimal(0)
    flagged = Decimal(0)
    possible = Decimal(0)
    counted = 0
    for line in lines:
        amount = getattr(line.input, basis)
        if amount is None:
            continue
        counted += 1
        total += amount
        if line.status == FLAGGED:
            flagged += amount
            matched += amount
        elif line.status == CLEAR:
            matched += amount
        elif line.status == POSSIBLE:
            possible += amount
    left_out = len(lines) - counted
    note = f"shares of the total {basis} of the {counted:,} lines screened with a {basis}"
    if left_out:
        note += f"; {left_out:,} lines without one are left out"
    if basis == "value" and has_weight:
        note += "; weights are not used when values are given"
    if total <= 0:
        return {"share_basis": basis, "share_note": f"the total {basis} is not positive: no share"}
    return {
        "share_basis": basis,
        "flagged_value_share": float(flagged / total),
        "possible_value_share": float(possible / total),
        "flagged_share_of_matched": float(flagged / matched) if matched > 0 else None,
        "share_note": note,
    }


def screen_file(
    stream: BinaryIO,
    display: str,
    profile: ProfileSpec,
    *,
    size: int | None = None,
    limits: ReadLimits | None = None,
    cpu_seconds: float | None = None,
    progress: Progress = _no_progress,
) -> ScreeningReport:
    """Screen a whole CSV file; raises ``ScreeningInputError`` rather than report part of one."""
    started = time.perf_counter()
    budget = None if cpu_seconds is None else CpuBudget(cpu_seconds, display)
    source = HoldingsFile(stream, display, size=size, limits=limits)
    screener = Screener(profile, budget)
    screened: list[ScreenedLine] = []
    batch: list[InputLine] = []
    for line in source:
        if budget is not None:
            budget.check(line.line)
        batch.append(line)
        if len(batch) >= BATCH_LINES:
            screened.extend(screener.screen_lines(batch))
            batch = []
            progress(source.bytes_read, size, len(screened))
    if batch:
        screened.extend(screener.screen_lines(batch))
    progress(source.bytes_read, size, len(screened))
    assert source.columns is not None  # set once the header is read
    # Every line of the file is accounted for: the header (and empty lines above
    # it), empty lines skipped, and lines screened (with the lines their quoted
    # cells span, where the header allows line breaks in cells).
    counts = {
        "lines_in_file": source.lines_in_file,
        "header_lines": source.header_lines,
        "blank_lines_skipped": source.blank_lines,
        "lines": len(screened),
        "records_spanning_lines": source.multiline_records,
    }
    counts.update({status: 0 for status in STATUSES})
    for done in screened:
        counts[done.status] += 1
    counts["matched"] = counts[FLAGGED] + counts[CLEAR]
    counts["entities"] = len({s.finding.entity_id for s in screened if s.finding is not None})
    share = _share(screened, "value" in source.columns.index, "weight" in source.columns.index)
    return ScreeningReport(
        file=display,
        profile=profile,
        columns=source.columns,
        lines=screened,
        delimiter=source.delimiter,
        encoding=source.encoding,
        blank_lines=source.blank_lines,
        seconds=time.perf_counter() - started,
        counts=counts,
        **share,  # type: ignore[arg-type]
    )
