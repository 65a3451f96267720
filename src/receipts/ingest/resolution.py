"""Entity resolution for federal contract recipients: UEI first, then DUNS, then the name.

Invariant: only a shared strong identifier (UEI, DUNS) links a record to an
existing entity on its own. A name alone links only to the entity an earlier
identifier-less record with the same name key created; any other name match
makes a new entity and a ReviewItem for an editor, never a merge.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from django.db import models, transaction
from normality import squash_spaces
from rapidfuzz import fuzz, process
from rigour.names import extract_org_types, replace_org_types_compare, tokenize_name
from rigour.text import ascii_text

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence import entities
from receipts.evidence.bulk import chunks
from receipts.evidence.models import Entity, EntityKind, Identifier, IdentifierScheme
from receipts.evidence.services import EvidenceError, save_entity

from .models import NameOnlyRecipient, ReviewItem

# From this score two names count as one company (``cluster_names``). Only
# spelling slips inside words and word order reach it: a missing or added
# word, a plural, a number or a legal form never does.
MATCH_THRESHOLD = 95.0
# From this score a new entity waits in the review queue beside the existing one.
REVIEW_THRESHOLD = 85.0
# At most this many review items per new entity, the best-scoring first.
MAX_CANDIDATES = 3
# Scores for different keys that are the same words: reordered, or spaced differently.
SAME_WORDS_SCORE = 98.0
SAME_LETTERS_SCORE = 97.0
# Scores for a near-match that differs by a whole word or a plural: worth a look, never a match.
WORD_DIFFERENCE_CAP = 90.0
# Two words this alike (rapidfuzz ratio) may be one word misspelt.
MISSPELLING_RATIO = 80.0
# A legal form on one side only: the same core scores 90, below MATCH_THRESHOLD.
ONE_SIDED_FORM_PENALTY = 10.0
# The same words, a legal form on one side only ("Escgov" and "Escgov Inc."): still a match.
SAME_WORDS_FORM_PENALTY = 2.0

# Names are compared only with names that start with the same letters.
_BLOCK_LETTERS = 4
# Rapidfuzz's best raw hits per name that the full rules then score: bounds the
# work per name when a block holds many look-alikes.
_RAW_HITS = 25
# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000

# "(DBA ACME SYSTEMS)", "(F/K/A ...)" anywhere in a name: the legal name is outside them.
_ALSO_KNOWN_AS = (
    r"d\s*[./]?\s*b\s*[./]?\s*a\b\.?|a\s*[./]?\s*k\s*[./]?\s*a\b\.?|f\s*[./]?\s*k\s*[./]?\s*a\b\.?"
    r"|doing\s+business\s+as\b|formerly\s+known\s+as\b|formerly\b"
)
_BRACKETED_AKA = re.compile(rf"[(\[]\s*(?:{_ALSO_KNOWN_AS})[^)\]]*[)\]]?", re.IGNORECASE)
# The same phrases as tokens, when they are not bracketed: everything after them goes.
_AKA_TOKENS: tuple[tuple[str, ...], ...] = (
    ("dba",), ("d", "b", "a"), ("aka",), ("a", "k", "a"), ("fka",), ("f", "k", "a"),
    ("doing", "business", "as"), ("formerly", "known", "as"), ("formerly",),
)  # fmt: skip
# Spelled-out or split US legal forms that rigour's table leaves alone; rigour
# then folds the rest ("incorporated" -> "inc", "l l c" -> "llc", "limited" -> "ltd").
_FORM_SPELLINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("p", "l", "l", "c"), "pllc"),
    (("l", "l", "l", "p"), "lllp"),
    (("l", "l", "p"), "llp"),
    (("l", "l", "c"), "llc"),
    (("l", "p"), "lp"),
    (("p", "c"), "pc"),
    (("p", "a"), "pa"),
    (("corporation",), "corp"),
    (("company",), "co"),
)
# Legal forms rigour does not list as such (it treats "Corp" as part of the name).
_EXTRA_FORMS = frozenset({"corp", "co", "pa", "lllp"})
# Abbreviations that contracting offices write both ways.
_ABBREVIATIONS = {
    "intl": "international",
    "natl": "national",
    "svcs": "services",
    "mgmt": "management",
    "assoc": "associates",
    "assocs": "associates",
    "grp": "group",
    "ctr": "center",
    "centre": "center",
    "govt": "government",
}
_ARTICLE = "the"
_AKA_STARTS = frozenset(phrase[0] for phrase in _AKA_TOKENS)
_SPELLING_STARTS = frozenset([*(phrase[0] for phrase, _form in _FORM_SPELLINGS), *_ABBREVIATIONS])


@dataclass(frozen=True)
class RecipientRecord:
    """A contract recipient as a file names it.

    ``uei`` is uppercase, 12 characters, or ""; ``duns`` is 9 digits,
    left-padded, or ""; ``name`` is as in the file. The resolver normalises
    the identifiers again, so a DUNS that lost its leading zeros still links.
    """

    uei: str
    duns: str
    name: str
    cage: str = ""


@dataclass(frozen=True)
class ParsedName:
    """A name's comparison form: the words that name the company, then its legal forms."""

    key: str
    core: tuple[str, ...]
    forms: tuple[str, ...]
    numbers: tuple[str, ...] = ()  # words with digits, sorted: names that differ here never match

    @property
    def core_text(self) -> str:
        return " ".join(self.core)

    @property
    def block(self) -> tuple[str, tuple[str, ...]]:
        """Names compared with each other share this: the first letters, spaces aside,
        and the numbers ("Acme Tech" and "AcmeTech" meet; "Acme 1" and "Acme 2" never do)."""
        return ("".join(self.core)[:_BLOCK_LETTERS], self.numbers)


def _split_at_aka(tokens: list[str]) -> list[str]:
    """The tokens before the first "DBA", "AKA" or "FKA" (or after one that starts the name)."""
    if _AKA_STARTS.isdisjoint(tokens):
        return tokens  # called for every name: skip the scan when no marker can start
    for i in range(len(tokens)):
        if tokens[i] not in _AKA_STARTS:
            continue
        for phrase in _AKA_TOKENS:
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                if i > 0:
                    return tokens[:i]
                if len(phrase) == 1 or phrase[0] not in ("d", "a", "f"):
                    return tokens[len(phrase) :]
                # "A K A SERVICES" is a name, not an alias marker
    return tokens


def _replace_spellings(tokens: list[str]) -> list[str]:
    if _SPELLING_STARTS.isdisjoint(tokens):
        return tokens
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase, form in _FORM_SPELLINGS:
            # Split forms ("L P") only end a name; spelled-out ones may sit inside it.
            trailing = len(phrase) == 1 or i + len(phrase) == len(tokens)
            if i > 0 and trailing and tuple(tokens[i : i + len(phrase)]) == phrase:
                out.append(form)
                i += len(phrase)
                break
        else:
            out.append(_ABBREVIATIONS.get(tokens[i], tokens[i]))
            i += 1
    return out


@lru_cache(maxsize=4096)
def _is_legal_form(token: str) -> bool:
    if token in _EXTRA_FORMS:
        return True
    return any(matched == token for matched, _target in extract_org_types(token))


def _numbers(core: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(t for t in core if any(c.isdigit() for c in t)))


@lru_cache(maxsize=1 << 17)
def parse_name(name: str) -> ParsedName:
    """Split a company name into its comparison form; see ``name_key``."""
    text = _BRACKETED_AKA.sub(" ", name)
    text = ascii_text(text.replace("&", " and ").replace("+", " and "))
    tokens = tokenize_name(text.casefold())
    tokens = _split_at_aka(tokens)
    while tokens and tokens[0] == _ARTICLE and len(tokens) > 1:
        tokens = tokens[1:]
    while tokens and tokens[-1] == _ARTICLE and len(tokens) > 1:
        tokens = tokens[:-1]
    tokens = _replace_spellings(tokens)
    if not tokens:
        fallback = " ".join(name.casefold().split())
        core: tuple[str, ...] = (fallback,) if fallback else ()
        return ParsedName(key=fallback, core=core, forms=(), numbers=_numbers(core))
    tokens = replace_org_types_compare(" ".join(tokens)).split()
    forms: list[str] = []
    # Legal forms are the trailing run ("acme co inc" has two); a form-like
    # word inside the name ("AS" in "SOFTWARE AS A SERVICE LLC") is part of it.
    while len(tokens) > 1 and _is_legal_form(tokens[-1]):
        forms.insert(0, tokens.pop())
    core = tuple(tokens)
    return ParsedName(
        key=" ".join([*core, *forms]), core=core, forms=tuple(forms), numbers=_numbers(core)
    )


def name_key(name: str) -> str:
    """The comparison form of a company name.

    Case, accents and punctuation go; "&" reads "and"; a leading or trailing
    "The" goes; "DBA ..." and "(DBA ...)" parts (also AKA, FKA) go, leaving
    the legal name. Legal forms stay, in one spelling: "Corp", "Corp." and
    "Corporation" are "corp", "Incorporated" is "inc", "L.L.C." is "llc".
    """
    return parse_name(name).key


def names_itself(parent: RecipientRecord, own_name_keys: Iterable[str]) -> bool:
    """Whether a reported parent is the recipient itself, named only by a name the
    recipient goes by (``own_name_keys``: ``name_key`` of its names). Resolving
    such a name alone would make a twin of the recipient that "owns" it."""
    return not parent.uei and not parent.duns and name_key(parent.name) in set(own_name_keys)


def _is_plural_pair(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long in (short + "s", short + "es") or (
        short.endswith("y") and long == short[:-1] + "ies"
    )


def _only_misspelt(a: Sequence[str], b: Sequence[str]) -> bool:
    """True when the words that differ pair up as slips of spelling, not other words.

    "Solutoins" for "Solutions" is a slip; a word more ("Acme Systems USA"),
    another word ("East" for "West") or a plural ("System", "Systems") is not.
    """
    left_a = list((Counter(a) - Counter(b)).elements())
    left_b = list((Counter(b) - Counter(a)).elements())
    if not left_a or len(left_a) != len(left_b):
        return False
    for word in left_a:
        best = max(left_b, key=lambda other: fuzz.ratio(word, other))
        if fuzz.ratio(word, best) < MISSPELLING_RATIO or _is_plural_pair(word, best):
            return False
        left_b.remove(best)
    return True


def _score(a: ParsedName, b: ParsedName) -> float:
    if not a.key or not b.key:
        return 0.0
    if a.key == b.key:
        return 100.0
    one_sided = bool(a.forms) != bool(b.forms)
    if a.forms and b.forms and a.forms != b.forms:
        # "Inc" and "LLC" are two companies, however alike the rest; but
        # "L & R Manufacturing Co Inc" is "L and R Manufacturing Company" with one more form.
        small, large = sorted((set(a.forms), set(b.forms)), key=len)
        if not small < large:
            return 0.0
        one_sided = True
    if a.numbers != b.numbers:
        return 0.0  # "Acme 1 LLC" and "Acme 2 LLC"
    if sorted(a.core) == sorted(b.core):
        score = SAME_WORDS_SCORE
    elif "".join(a.core) == "".join(b.core):
        score = SAME_LETTERS_SCORE
    else:
        score = fuzz.token_sort_ratio(a.core_text, b.core_text)
        if not _only_misspelt(a.core, b.core):
            score = min(score, WORD_DIFFERENCE_CAP)
    if one_sided:
        # Parent names and older records often leave the legal form out: the
        # same words with a form on one side only still match.
        score -= SAME_WORDS_FORM_PENALTY if score >= SAME_WORDS_SCORE else ONE_SIDED_FORM_PENALTY
    return max(score, 0.0)


def names_match(a: str, b: str) -> float:
    """How alike two company names are, 0 to 100, on their name keys.

    The same key scores 100; different legal forms, or different numbers,
    score 0. Otherwise the score is rapidfuzz's token-sort ratio, capped
    below ``MATCH_THRESHOLD`` when the names differ by a whole word or a
    plural, and lowered when only one name has a legal form.
    """
    return _score(parse_name(a), parse_name(b))


def cluster_names(names: Iterable[str]) -> list[set[str]]:
    """Group names that ``names_match`` at ``MATCH_THRESHOLD`` or above, by name alone.

    Names with the same key form a group; groups join when a pair of their
    names scores at least ``MATCH_THRESHOLD``. Candidate pairs share their
    first letters and their numbers, which keeps the comparison near-linear.
    """
    by_key: dict[str, set[str]] = {}
    parsed: dict[str, ParsedName] = {}
    for name in names:
        p = parse_name(name)
        by_key.setdefault(p.key, set()).add(name)
        parsed.setdefault(p.key, p)
    keys = list(by_key)
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    blocks: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for k in keys:
        blocks.setdefault(parsed[k].block, []).append(k)
    for block in blocks.values():
        if len(block) < 2:
            continue
        cores = [parsed[k].core_text for k in block]
        for i, k in enumerate(block):
            hits = process.extract(
                cores[i],
                cores,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=MATCH_THRESHOLD,
                limit=None,
            )
            for _choice, _raw, j in hits:
                if j > i and _score(parsed[k], parsed[block[j]]) >= MATCH_THRESHOLD:
                    parent[find(block[j])] = find(k)
    clusters: dict[str, set[str]] = {}
    for k in keys:
        clusters.setdefault(find(k), set()).update(by_key[k])
    return list(clusters.values())


# --- the resolver ---------------------------------------------------------------------


def clean_uei(value: str) -> str:
    """A UEI (or CAGE code) as identifiers store it: no spaces, upper case."""
    return "".join(str(value).split()).upper()


def clean_duns(value: str) -> str:
    """A DUNS as identifiers store it: nine digits, or "" for none."""
    digits = re.sub(r"\D", "", str(value))
    if not digits or not digits.strip("0"):
        return ""  # spreadsheets write a missing DUNS as 0
    return digits.zfill(9)


def _clean_name(value: str) -> str:
    # Kept as the file spells it, but with no-break spaces and line breaks squashed.
    return squash_spaces(str(value))


class _Cleaned(NamedTuple):
    """A record with its identifiers in canonical form and its name's spaces squashed."""

    record: RecipientRecord
    uei: str
    duns: str
    cage: str
    name: str


@dataclass
class _NewRecipient:
    """An entity to create at the end of a call, with what the records said about it."""

    names: Counter[str] = field(default_factory=Counter)
    ueis: list[str] = field(default_factory=list)
    duns: list[str] = field(default_factory=list)
    cages: list[str] = field(default_factory=list)
    name_key: str = ""  # set for identifier-less records, to remember the key
    entity: Entity | None = None

    def add_name(self, name: str) -> None:
        self.names[name] += 1

    def display_name(self) -> str:
        return display_name(self.names)


def display_name(names: Iterable[str]) -> str:
    """The name a recipient entity goes by: of the spellings its records give, the first in
    sort order. Not the first one imported, nor the most frequent in one import, which
    would depend on which files were imported first."""
    return min(names)


_Target = int | _NewRecipient


@dataclass
class _Block:
    entity_ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    parsed: list[ParsedName] = field(default_factory=list)
    cores: list[str] = field(default_factory=list)


class NameIndex:
    """Names and aliases of live entities of one kind, in blocks of alike names, built once."""

    def __init__(self, kind: str) -> None:
        self.blocks: dict[tuple[str, tuple[str, ...]], _Block] = {}
        self.by_key: dict[str, dict[int, str]] = {}
        rows = (
            Entity.objects.live()
            .filter(kind=kind)
            .values_list("id", "name", "aliases")
            .iterator(chunk_size=5000)
        )
        for entity_id, name, aliases in rows:
            self.add(entity_id, [name, *(aliases or [])])

    def add(self, entity_id: int, names: Iterable[str]) -> None:
        seen: set[str] = set()
        for name in names:
            p = parse_name(str(name))
            if not p.key or p.key in seen:
                continue
            seen.add(p.key)
            self.by_key.setdefault(p.key, {}).setdefault(entity_id, str(name))
            block = self.blocks.setdefault(p.block, _Block())
            block.entity_ids.append(entity_id)
            block.names.append(str(name))
            block.parsed.append(p)
            block.cores.append(p.core_text)

    def candidates(
        self, names: Iterable[str], exclude: int, limit: int | None = MAX_CANDIDATES
    ) -> list[tuple[int, float, str, str]]:
        """(entity id, score, our name, its name) of the best matches (``limit`` of
        them, or all), best first."""
        best: dict[int, tuple[float, str, str]] = {}

        def consider(entity_id: int, found: tuple[float, str, str]) -> None:
            if entity_id != exclude and found > best.get(entity_id, (0.0, "", "")):
                best[entity_id] = found

        for name in names:
            p = parse_name(name)
            if not p.key:
                continue
            for entity_id, theirs in self.by_key.get(p.key, {}).items():
                consider(entity_id, (100.0, name, theirs))
            block = self.blocks.get(p.block)
            if block is None:
                continue
            hits = process.extract(
                p.core_text,
                block.cores,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=REVIEW_THRESHOLD,
                limit=_RAW_HITS,
            )
            for _choice, _raw, j in hits:
                score = _score(p, block.parsed[j])
                if score >= REVIEW_THRESHOLD:
                    consider(block.entity_ids[j], (score, name, block.names[j]))
        # Equal scores rank by the names, then the id: not by which entity came first.
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[1][2], kv[1][1], kv[0]))
        return [(eid, s, ours, theirs) for eid, (s, ours, theirs) in ranked[:limit]]


def identifier_holders(scheme: str, values: Iterable[str]) -> dict[str, int]:
    """Which entity holds each identifier value, in one query per thousand values."""
    wanted = sorted(set(values))
    found: dict[str, int] = {}
    for chunk in chunks(wanted, _CHUNK):
        found.update(
            Identifier.objects.filter(scheme=scheme, value__in=chunk).values_list(
                "value", "entity_id"
            )
        )
    return found


def merge_survivors(entity_ids: Iterable[int]) -> dict[int, int]:
    """Each id mapped to the entity it was merged into, following chains of merges."""
    result = {i: i for i in entity_ids}
    pending = set(result)
    merged_into: dict[int, int] = {}
    while pending:
        batch = sorted(pending)
        pending = set()
        for i in range(0, len(batch), _CHUNK):
            rows = Entity.objects.filter(
                pk__in=batch[i : i + _CHUNK], merged_into__isnull=False
            ).values_list("id", "merged_into_id")
            for entity_id, target in rows:
                merged_into[entity_id] = target
                if target not in merged_into:
                    pending.add(target)
    for start, current in result.items():
        seen = {current}
        while current in merged_into:
            current = merged_into[current]
            if current in seen:
                raise EvidenceError("merge", f"entity {start} is in a cycle of merges")
            seen.add(current)
        result[start] = current
    return result


class RecipientResolver:
    """Resolves contract recipients to entities, creating what is new in bulk.

    Counters, over the resolver's life: ``created`` entities, ``linked``
    records that found an entity existing before the call, ``queued``
    review items. The name index is built once, on the first call that
    creates an entity, and kept up to date with what this resolver creates.
    """

    def __init__(self) -> None:
        self.created = 0
        self.linked = 0
        self.queued = 0
        self._index: NameIndex | None = None
        self._index_kind = ""
        # Records already resolved by this resolver: an import asks again for
        # parents it met as recipients, and gets the same answer without queries.
        self._memo: dict[tuple[RecipientRecord, str], Entity] = {}

    def resolve_many(
        self, records: Iterable[RecipientRecord], *, kind: str = EntityKind.COMPANY
    ) -> dict[RecipientRecord, Entity]:
        """Map each record to its entity; identical records resolve once.

        Raises EvidenceError for a record with no UEI, no DUNS and no name.
        """
        if kind not in EntityKind.values:
            raise EvidenceError("kind", f"{kind!r} is not one of {', '.join(EntityKind.values)}")
        # In a fixed order: which spelling names a new entity must not depend on
        # the order a set happened to give (it differed from run to run).
        unique = sorted(set(records), key=lambda r: (r.uei, r.duns, r.name, r.cage))
        known = {r: self._memo[(r, kind)] for r in unique if (r, kind) in self._memo}
        todo = [r for r in unique if r not in known]
        if not todo:
            return known
        try:
            with transaction.atomic():
                found = self._resolve(todo, kind)
        except BaseException:
            self._index = None  # it may hold entities the rollback removed
            self._memo.clear()
            raise
        self._memo.update({(r, kind): e for r, e in found.items()})
        return {**known, **found}

    def _resolve(self, records: list[RecipientRecord], kind: str) -> dict[RecipientRecord, Entity]:
        cleaned: list[_Cleaned] = []
        for r in records:
            uei, duns, name = clean_uei(r.uei), clean_duns(r.duns), _clean_name(r.name)
            if not uei and not duns and not name:
                raise EvidenceError("recipient", f"{r!r} has no UEI, no DUNS and no name")
            cleaned.append(_Cleaned(r, uei, duns, clean_uei(r.cage), name))

        uei_holder: dict[str, _Target] = dict(
            identifier_holders(IdentifierScheme.UEI, (c.uei for c in cleaned if c.uei))
        )
        duns_holder: dict[str, _Target] = dict(
            identifier_holders(IdentifierScheme.DUNS, (c.duns for c in cleaned if c.duns))
        )
        cage_taken = set(
            identifier_holders(IdentifierScheme.CAGE, (c.cage for c in cleaned if c.cage))
        )
        existing_ids = {
            t for t in [*uei_holder.values(), *duns_holder.values()] if isinstance(t, int)
        }
        survivor = merge_survivors(existing_ids)
        uei_holder = {k: survivor[v] if isinstance(v, int) else v for k, v in uei_holder.items()}
        duns_holder = {k: survivor[v] if isinstance(v, int) else v for k, v in duns_holder.items()}
        with_uei = (
            set(
                Identifier.objects.filter(
                    scheme=IdentifierScheme.UEI, entity_id__in=sorted(set(duns_holder.values()))
                ).values_list("entity_id", flat=True)
            )
            if duns_holder
            else set()
        )

        by_uei: dict[str, list[_Cleaned]] = {}
        by_duns: dict[str, list[_Cleaned]] = {}
        by_name: dict[str, list[_Cleaned]] = {}
        for c in cleaned:
            if c.uei:
                by_uei.setdefault(c.uei, []).append(c)
            elif c.duns:
                by_duns.setdefault(c.duns, []).append(c)
            else:
                by_name.setdefault(parse_name(c.name).key[:500], []).append(c)

        target_of: dict[RecipientRecord, _Target] = {}
        new: list[_NewRecipient] = []
        uei_additions: list[tuple[int, str]] = []

        def create() -> _NewRecipient:
            pending = _NewRecipient()
            new.append(pending)
            return pending

        # (a) UEI, (b) DUNS, (c) a new entity holding both.
        for uei in sorted(by_uei):
            group = by_uei[uei]
            target = uei_holder.get(uei)
            if target is None:
                for duns in sorted({c.duns for c in group if c.duns}):
                    if duns in duns_holder:
                        target = duns_holder[duns]
                        if isinstance(target, int) and target not in with_uei:
                            uei_additions.append((target, uei))
                            with_uei.add(target)
                        uei_holder[uei] = target
                        break
            if target is None:
                pending = create()
                pending.ueis.append(uei)
                for duns in sorted({c.duns for c in group if c.duns}):
                    if duns not in duns_holder:
                        pending.duns.append(duns)
                        duns_holder[duns] = pending
                target = uei_holder[uei] = pending
            self._attach(group, target, target_of, cage_taken)

        for duns in sorted(by_duns):
            group = by_duns[duns]
            target = duns_holder.get(duns)
            if target is None:
                pending = create()
                pending.duns.append(duns)
                target = duns_holder[duns] = pending
            self._attach(group, target, target_of, cage_taken)

        # Records without identifiers: the entity an identical name key made before.
        keys = sorted(by_name)
        remembered: dict[str, int] = {}
        for chunk in chunks(keys, _CHUNK):
            remembered.update(
                NameOnlyRecipient.objects.filter(kind=kind, name_key__in=chunk).values_list(
                    "name_key", "entity_id"
                )
            )
        named_survivor = merge_survivors(remembered.values())
        for key in keys:
            group = by_name[key]
            if key in remembered:
                target = named_survivor[remembered[key]]
            else:
                target = create()
                target.name_key = key
            self._attach(group, target, target_of, cage_taken)

        return self._write(records, kind, target_of, new, uei_additions)

    @staticmethod
    def _attach(
        group: list[_Cleaned],
        target: _Target,
        target_of: dict[RecipientRecord, _Target],
        cage_taken: set[str],
    ) -> None:
        for c in group:
            target_of[c.record] = target
            if isinstance(target, _NewRecipient):
                if c.name:
                    target.add_name(c.name)
                if c.cage and c.cage not in cage_taken:
                    target.cages.append(c.cage)
                    cage_taken.add(c.cage)

    def _write(
        self,
        records: list[RecipientRecord],
        kind: str,
        target_of: dict[RecipientRecord, _Target],
        new: list[_NewRecipient],
        uei_additions: list[tuple[int, str]],
    ) -> dict[RecipientRecord, Entity]:
        if new and (self._index is None or self._index_kind != kind):
            # Built before the new entities exist: each is compared with what
            # came before it, whichever call built the index.
            self._index = NameIndex(kind)
            self._index_kind = kind
        specs = []
        for pending in new:
            if not pending.names:  # identifiers but no name anywhere
                pending.add_name(pending.ueis[0] if pending.ueis else f"DUNS {pending.duns[0]}")
            name = pending.display_name()
            identifiers = [
                *((IdentifierScheme.UEI, v) for v in pending.ueis),
                *((IdentifierScheme.DUNS, v) for v in pending.duns),
                *((IdentifierScheme.CAGE, v) for v in pending.cages),
            ]
            specs.append(
                entities.NewEntity(
                    name=name,
                    kind=kind,
                    aliases=tuple(n for n in pending.names if n != name),
                    identifiers=tuple(identifiers),
                )
            )
        for pending, entity in zip(new, entities.create_entities(specs), strict=True):
            pending.entity = entity
        self.created += len(new)

        NameOnlyRecipient.objects.bulk_create(
            [
                NameOnlyRecipient(kind=kind, name_key=p.name_key, entity=p.entity)
                for p in new
                if p.name_key
            ],
            batch_size=500,
        )

        # Spellings not yet known become aliases of the entities the records linked to.
        names_of: dict[int, set[str]] = {}
        for record, target in target_of.items():
            if isinstance(target, int):
                self.linked += 1
                name = _clean_name(record.name)
                if name:
                    names_of.setdefault(target, set()).add(name)
        grown = _with_new_names(names_of)
        _rename(grown)
        entities.add_aliases_and_identifiers(
            aliases={k: sorted(v) for k, v in names_of.items()},
            identifiers=[(eid, IdentifierScheme.UEI, uei) for eid, uei in uei_additions],
        )
        if grown and (self._index is None or self._index_kind != kind):
            self._index = NameIndex(kind)
            self._index_kind = kind

        self._queue_reviews(new, grown)

        linked = Entity.objects.in_bulk(
            sorted({t for t in target_of.values() if isinstance(t, int)})
        )
        result: dict[RecipientRecord, Entity] = {}
        for record in records:
            target = target_of[record]
            found = target.entity if isinstance(target, _NewRecipient) else linked[target]
            assert found is not None
            result[record] = found
        return result

    def _queue_reviews(self, new: list[_NewRecipient], grown: dict[int, list[str]]) -> None:
        """Bring the review queue up to date with new entities and new names of old ones.

        The queue is a function of the entities and their names, whatever order they
        came in: a pair of look-alikes waits in it when either is among the other's
        ``MAX_CANDIDATES`` closest names; the entity it names to merge into the other
        is one that contract records made rather than one an editor made, else one
        without UEI or DUNS, else the one whose name sorts later. A
        pending item a newcomer pushed out of both entities' closest goes; decided
        items stay as decided.
        """
        if (not new and not grown) or self._index is None:
            return
        index = self._index
        names: dict[int, list[str]] = {}
        for pending in new:
            entity = pending.entity
            assert entity is not None
            names[entity.pk] = [entity.name, *entity.aliases]
        for entity_id, added in grown.items():
            index.add(entity_id, added)
        for entity_id, entity_names in names.items():
            index.add(entity_id, entity_names)
        changed = set(names) | set(grown)
        closest: dict[int, list[int]] = {}

        def names_of(ids: Iterable[int]) -> None:
            wanted = sorted(set(ids) - set(names))
            for chunk in range(0, len(wanted), _CHUNK):
                for pk, name, aliases in Entity.objects.filter(
                    pk__in=wanted[chunk : chunk + _CHUNK]
                ).values_list("pk", "name", "aliases"):
                    names[pk] = [name, *(aliases or [])]

        def closest_of(ids: Iterable[int]) -> None:
            todo = sorted(set(ids) - set(closest))
            names_of(todo)
            for entity_id in todo:
                closest[entity_id] = [
                    c for c, *_ in index.candidates(names.get(entity_id, []), exclude=entity_id)
                ]

        # Who may gain or lose a pair: the changed entities and all their look-alikes
        # (a changed entity may become one of theirs closest without their being among
        # its own), and the other ends of the pending items they have.
        closest_of(changed)
        around = changed | {
            c
            for e in changed
            for c, *_ in index.candidates(names.get(e, []), exclude=e, limit=None)
        }
        closest_of(around)
        pending = list(
            ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
            .filter(
                models.Q(entity_id__in=sorted(around)) | models.Q(candidate_id__in=sorted(around))
            )
            .values_list("pk", "entity_id", "candidate_id")
        )
        closest_of({e for _pk, a, b in pending for e in (a, b)})
        wanted = {frozenset((e, c)) for e in around for c in closest[e] if e != c}
        decided = {
            frozenset(pair)
            for pair in ReviewItem.objects.exclude(status=ReviewItem.Status.PENDING)
            .filter(entity_id__in=sorted({e for p in wanted for e in p}))
            .values_list("entity_id", "candidate_id")
        }
        stale = [
            pk
            for pk, a, b in pending
            if frozenset((a, b)) not in wanted
            and b not in closest.get(a, [])
            and a not in closest.get(b, [])
        ]
        wanted -= decided
        names_of({e for p in wanted for e in p})
        held: dict[int, list[str]] = {}
        for entity_id, value in Identifier.objects.filter(
            entity_id__in=sorted({e for p in wanted for e in p}),
            scheme__in=[IdentifierScheme.UEI, IdentifierScheme.DUNS],
        ).values_list("entity_id", "value"):
            held.setdefault(entity_id, []).append(value)
        strong = set(held)
        from_records = _from_records(
            {e for p in wanted for e in p}, {p.entity.pk for p in new if p.entity is not None}
        )
        items: list[ReviewItem] = []
        for pair in sorted(wanted, key=sorted):
            # The entity a merge drops: one the records made rather than an editor's, then
            # one without UEI or DUNS, then the one whose name (under one name, whose UEI
            # or DUNS) sorts later.
            entity_id, candidate_id = sorted(
                pair,
                key=lambda e: (
                    e in from_records,
                    e not in strong,
                    min(names[e]),
                    sorted(held.get(e, [])),
                    e,
                ),
                reverse=True,
            )
            score, ours, theirs = _best_match(names[entity_id], names[candidate_id])
            if score < REVIEW_THRESHOLD:
                continue
            how = "the same name key" if score >= 100 else f"similarity {score:.0f}"
            why = "a different UEI or DUNS" if entity_id in strong else "no UEI or DUNS"
            reason = f"{ours!r} is like {theirs!r} ({how}); {why}"
            items.append(
                ReviewItem(
                    entity_id=entity_id, candidate_id=candidate_id, score=score, reason=reason[:300]
                )
            )
        # Pending items of these pairs are written again, in the canonical direction.
        pairs = [frozenset((i.entity_id, i.candidate_id)) for i in items]
        stale += [pk for pk, a, b in pending if frozenset((a, b)) in pairs]
        ReviewItem.objects.filter(pk__in=stale).delete()
        ReviewItem.objects.bulk_create(items, batch_size=500)
        self.queued += len(items) - sum(1 for _pk, a, b in pending if frozenset((a, b)) in pairs)


def _best_match(ours: Sequence[str], theirs: Sequence[str]) -> tuple[float, str, str]:
    """The best-scoring pair of names of two entities: (score, our name, their name)."""
    best = (0.0, "", "")
    for a in sorted(set(ours)):
        for b in sorted(set(theirs)):
            found = (names_match(a, b), a, b)
            best = max(best, found)
    return best


def _rename(grown: dict[int, list[str]]) -> None:
    """Give entities that gained spellings the name ``display_name`` picks from all of them,
    when the name they have is the one it picked before from the stored records' spellings
    (a name an editor gave stays)."""
    for entity in Entity.objects.filter(pk__in=sorted(grown)):
        known = [entity.name, *entity.aliases]
        wanted = display_name([*known, *grown[entity.pk]])
        if entity.name == display_name(known) and wanted != entity.name and _records_name(entity):
            save_entity(
                entity=entity,
                name=wanted,
                kind=entity.kind,
                aliases=[n for n in known if n != wanted],
                country=entity.country,
                summary=entity.summary,
            )


def _from_records(ids: set[int], new: set[int]) -> set[int]:
    """Of these entities, those that contract records made (or could have made): the ones
    this resolver just created, name-only recipients, and those stored records name as
    recipient or, by UEI or DUNS, as parent."""
    found = ids & new
    rest = sorted(ids - found)
    found |= set(
        NameOnlyRecipient.objects.filter(entity_id__in=rest).values_list("entity_id", flat=True)
    )
    found |= set(
        ContractTransaction.objects.filter(recipient_id__in=rest)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    found |= set(
        ContractAward.objects.filter(recipient_id__in=rest)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    strong = Identifier.objects.filter(
        entity_id__in=sorted(ids - found), scheme__in=[IdentifierScheme.UEI, IdentifierScheme.DUNS]
    ).values_list("entity_id", "scheme", "value")
    ueis = {v: e for e, scheme, v in strong if scheme == IdentifierScheme.UEI}
    duns = {v: e for e, scheme, v in strong if scheme == IdentifierScheme.DUNS}
    if ueis:
        found |= {
            ueis[v]
            for v in ContractTransaction.objects.filter(parent_uei__in=sorted(ueis))
            .values_list("parent_uei", flat=True)
            .distinct()
        }
    if duns:
        found |= {
            duns[v]
            for v in ContractTransaction.objects.filter(parent_duns__in=sorted(duns))
            .values_list("parent_duns", flat=True)
            .distinct()
        }
    return found


def _records_name(entity: Entity) -> bool:
    """Whether the entity's name came from contract records: a name-only recipient's, or
    one stored records give it as recipient or parent."""
    name = entity.name
    if (
        NameOnlyRecipient.objects.filter(entity=entity).exists()
        or ContractTransaction.objects.filter(recipient=entity, recipient_name=name).exists()
        or ContractAward.objects.filter(recipient=entity, recipient_name=name).exists()
    ):
        return True
    strong = dict(
        entity.identifiers.filter(
            scheme__in=[IdentifierScheme.UEI, IdentifierScheme.DUNS]
        ).values_list("scheme", "value")
    )
    by_identifier = models.Q()
    if IdentifierScheme.UEI in strong:
        by_identifier |= models.Q(parent_uei=strong[IdentifierScheme.UEI])
    if IdentifierScheme.DUNS in strong:
        by_identifier |= models.Q(parent_duns=strong[IdentifierScheme.DUNS])
    if not by_identifier:
        return False
    as_parent = models.Q(parent_name=name) & by_identifier
    return ContractTransaction.objects.filter(as_parent).exists()


def _with_new_names(names_of: dict[int, set[str]]) -> dict[int, list[str]]:
    """Of these entities, those for which the names are new, with the new names."""
    ids = sorted(names_of)
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), _CHUNK):
        for pk, name, aliases in Entity.objects.filter(
            pk__in=ids[start : start + _CHUNK]
        ).values_list("pk", "name", "aliases"):
            known = {name, *(aliases or [])}
            added = sorted(names_of[pk] - known)
            if added:
                out[pk] = added
    return out
