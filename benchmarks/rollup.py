"""Benchmark of rollups and entity pages on a large synthetic evidence graph.

Builds a seeded, deterministic graph (corporate families up to six ownership
levels deep, agency trees, and company-to-agency ties, each tie with a
citation) in a fresh database, then times ``rollup_ties`` and full renders of
entity pages. Prints one JSON object per database on stdout, one line each;
progress goes to stderr. Each database runs in its own worker process, so the
Django settings of one never leak into the other.

    uv run python benchmarks/rollup.py [--entities N] [--ties N] [--repeat N]
                                       [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scratch import scratch_database  # noqa: E402

TARGET_ROLLUP_QUERY_MS = 20.0
TARGET_ENTITY_PAGE_MS = 100.0

# Rows per bulk_create call and per transaction while loading.
BATCH = 20_000

# The deepest corporate family: ownership levels below the ultimate parent.
MAX_FAMILY_DEPTH = 6
FAMILY_DEPTH_WEIGHTS = {0: 60, 1: 18, 2: 9, 3: 5, 4: 3.5, 5: 2.5, 6: 2}
FAMILY_MAX_SIZE = 400
# Children per member below the first level; the ultimate parent has 2-8.
BRANCHING = (0, 1, 1, 2, 3)
# Share of entities that are agencies, and agencies per department.
AGENCY_SHARE = 0.03
AGENCIES_PER_DEPARTMENT = 120

DEALING_KINDS = ("contract", "hosting", "partnership", "data_sharing")
DEALING_KIND_WEIGHTS = (80, 7, 8, 5)
STATUS_WEIGHTS = {
    "contract": {"active": 50, "ended": 45, "announced": 3, "alleged": 2},
    "hosting": {"active": 80, "ended": 15, "alleged": 5},
    "partnership": {"active": 70, "ended": 20, "announced": 5, "alleged": 5},
    "data_sharing": {"active": 60, "ended": 20, "alleged": 20},
}

# Words for synthetic names.
# fmt: off
BRANDS_A = (
    "Aster", "Boreal", "Cobalt", "Delta", "Ember", "Fathom", "Granite", "Harbor", "Iron",
    "Juniper", "Keystone", "Lumen", "Meridian", "Northgate", "Orbit", "Palisade", "Quarry",
    "Redwood", "Summit", "Tidal", "Umbra", "Vantage", "Westfield", "Zenith",
)
BRANDS_B = (
    "Analytics", "Systems", "Dynamics", "Networks", "Logistics", "Data", "Cloud", "Defense",
    "Security", "Labs", "Solutions", "Technologies", "Services", "Holdings", "Partners",
)
SEGMENTS = (
    "Federal", "Government Services", "Cloud", "Data Services", "Mobility", "Devices",
    "Consulting", "Research", "Logistics", "Security", "International", "Capital",
)
SUFFIXES = ("Inc", "LLC", "Corp", "Ltd", "Group")
TOPICS = (
    "Homeland Affairs", "Defense", "Justice", "Health", "Energy", "Transportation", "Commerce",
    "Treasury", "State", "Agriculture", "Interior", "Labor", "Education", "Veterans Affairs",
    "Housing", "Space", "Environment", "Trade", "Immigration", "Intelligence",
)
UNITS = (
    "Bureau", "Office", "Service", "Administration", "Directorate", "Agency", "Command",
    "Division", "Center", "Program Office",
)
# fmt: on


def log(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- the synthetic graph -----------------------------------------------------------


@dataclass
class Graph:
    """What the generator builds, by id: enough to draw benchmark cases from."""

    companies: list[int] = field(default_factory=list)
    agencies: list[int] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    # Ultimate parents whose family reaches MAX_FAMILY_DEPTH levels.
    deep_roots: list[int] = field(default_factory=list)
    families: int = 0
    owns: int = 0
    part_of: int = 0
    dealings: int = 0
    citations: int = 0
    sources: int = 0
    identifiers: int = 0


def search_text(terms: Sequence[str]) -> str:
    """The services' search text: newline-framed, lower-cased, de-duplicated terms."""
    seen: list[str] = []
    for term in terms:
        t = " ".join(term.lower().split())
        if t and t not in seen:
            seen.append(t)
    return "\n" + "\n".join(seen) + "\n"


def ftm_id(rng: random.Random, prefix: str) -> str:
    """A FollowTheMoney id shaped like the models' defaults, but drawn from the seed."""
    return f"receipts-{prefix}-{uuid.UUID(int=rng.getrandbits(128), version=4).hex}"


def partial_date(rng: random.Random, year: int) -> str:
    """A year, year-month or full date, as the records give them."""
    precision = rng.random()
    if precision < 0.2:
        return f"{year}"
    if precision < 0.5:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def capped_pareto(rng: random.Random, alpha: float, cap: float) -> float:
    return min(rng.paretovariate(alpha), cap)


def uei(entity_id: int) -> str:
    """A 12-character identifier that is unique per entity id."""
    digits = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    out = ""
    n = entity_id * 7919 + 10**9
    while n:
        n, r = divmod(n, len(digits))
        out = digits[r] + out
    return ("Q" + out).rjust(12, "Z")[:12]


class Builder:
    """Writes the synthetic graph in large batches, straight to the tables.

    This bypasses ``services.record_tie`` and ``services.save_entity`` on
    purpose and only here: a benchmark generator must load a million ties in
    minutes, which one-at-a-time service calls (each with a cycle check) cannot.
    It keeps what the services keep: every tie has a citation to a source,
    search_text is framed as the services frame it, ftm_id is unique, and
    ownership and part_of ties form trees, so they have no cycle.
    """

    def __init__(self, rng: random.Random, started: float) -> None:
        from django.db import connection

        self.rng = rng
        self.started = started
        self.connection = connection
        self.graph = Graph()
        self.next_tie = 1
        self.next_citation = 1
        self.n_sources = 0

    # Writing ------------------------------------------------------------------

    def write(self, model: Any, objs: list[Any]) -> None:
        """One bulk_create per batch, in its own transaction.

        The Python side (building a million model instances) dominates: COPY on
        PostgreSQL measured no more than a few per cent faster, so both
        databases load the same way.
        """
        from django.db import transaction

        if not objs:
            return
        with transaction.atomic():
            model.objects.bulk_create(objs)

    # Sources --------------------------------------------------------------------

    def build_sources(self, count: int) -> None:
        from receipts.evidence.models import Source

        rng = self.rng
        batch: list[Source] = []
        for pk in range(1, count + 1):
            roll = rng.random()
            if roll < 0.7:
                kind, publisher = "dataset_row", "USAspending.gov"
                title = f"Federal award record {pk}"
                url = f"https://www.usaspending.gov/award/BENCH_{pk:08d}/"
            elif roll < 0.95:
                kind, publisher = "news_report", rng.choice(("The Ledger", "Capitol Wire"))
                title = f"Report {pk} on federal technology contracts"
                url = f"https://news.example.org/reports/{pk}"
            else:
                kind, publisher = "company_statement", "Investor relations"
                title = f"Annual report filing {pk}"
                url = f"https://filings.example.org/{pk}"
            batch.append(
                Source(
                    id=pk,
                    kind=kind,
                    title=title,
                    publisher=publisher,
                    url=url,
                    published=partial_date(rng, rng.randint(2008, 2025)),
                    retrieved="2026-01-15",
                    ftm_id=ftm_id(rng, "source"),
                )
            )
            if len(batch) >= BATCH:
                self.write(Source, batch)
                batch = []
        self.write(Source, batch)
        self.n_sources = count
        self.graph.sources = count

    # Entities -------------------------------------------------------------------

    def _entity(self, pk: int, kind: str, name: str, aliases: list[str], ids: list[str]) -> Any:
        from django.utils.text import slugify

        from receipts.evidence.models import Entity

        slug = slugify(name)[:120]
        return Entity(
            id=pk,
            slug=slug,
            kind=kind,
            name=name,
            aliases=aliases,
            country="us",
            search_text=search_text([name, slug, *aliases, *ids]),
            ftm_id=ftm_id(self.rng, "entity"),
        )

    def build_entities(self, n_entities: int) -> list[tuple[int, int, str]]:
        """Entities and the (parent, child, kind) edges of families and agency trees."""
        from receipts.evidence.models import Entity, Identifier

        rng = self.rng
        g = self.graph
        n_agencies = max(2, round(n_entities * AGENCY_SHARE))
        n_departments = max(1, n_agencies // AGENCIES_PER_DEPARTMENT)
        n_companies = max(1, n_entities - n_agencies)
        entities: list[Entity] = []
        identifiers: list[Identifier] = []
        edges: list[tuple[int, int, str]] = []
        next_id = 1

        # Agency trees: departments, their components and sub-components.
        levels: list[list[int]] = [[], [], [], []]
        short: dict[int, str] = {}
        for i in range(n_agencies):
            pk = next_id
            next_id += 1
            if i < n_departments:
                level = 0
                topic = TOPICS[i % len(TOPICS)]
                name = f"Department of {topic} {i + 1}"
                short[pk] = "D" + "".join(w[0] for w in topic.split()) + str(i + 1)
                aliases = [short[pk]]
            else:
                level = rng.choices((1, 2, 3), weights=(30, 55, 15))[0]
                while not levels[level - 1]:
                    level -= 1
                parent = rng.choice(levels[level - 1])
                unit = rng.choice(UNITS)
                name = f"{short[parent]} {rng.choice(TOPICS)} {unit} {pk}"
                short[pk] = short[parent]
                aliases = []
                edges.append((parent, pk, "part_of"))
            levels[level].append(pk)
            code = f"{pk:04d}"
            entities.append(self._entity(pk, "agency", name, aliases, [code]))
            identifiers.append(
                Identifier(id=len(identifiers) + 1, entity_id=pk, scheme="agency_code", value=code)
            )
            g.agencies.append(pk)
        g.departments = list(levels[0])

        # Corporate families: an ultimate parent and up to six levels below it.
        depths = list(FAMILY_DEPTH_WEIGHTS)
        depth_weights = list(FAMILY_DEPTH_WEIGHTS.values())
        remaining = n_companies
        family_no = 0
        while remaining > 0:
            family_no += 1
            depth = rng.choices(depths, weights=depth_weights)[0]
            cap = min(remaining, FAMILY_MAX_SIZE)
            brand = f"{rng.choice(BRANDS_A)} {rng.choice(BRANDS_B)} {family_no}"
            root = next_id
            members: list[tuple[int, str]] = [(root, f"{brand} {rng.choice(SUFFIXES)}")]
            level_nodes = [root]
            reached = 0
            for level in range(1, depth + 1):
                below: list[int] = []
                for j, parent in enumerate(level_nodes):
                    k = rng.randint(2, 8) if level == 1 else rng.choice(BRANCHING)
                    if j == 0:
                        k = max(k, 1)  # one line of descent reaches the family's depth
                    for _ in range(k):
                        if len(members) >= cap:
                            break
                        pk = root + len(members)
                        segment = rng.choice(SEGMENTS)
                        members.append(
                            (pk, f"{brand} {segment} {len(members)} {rng.choice(SUFFIXES)}")
                        )
                        below.append(pk)
                        edges.append((parent, pk, "owns"))
                if not below:
                    break
                reached = level
                level_nodes = below
            for pk, name in members:
                aliases = [brand] if pk == root else []
                ids: list[str] = []
                if rng.random() < 0.5:
                    ids.append(uei(pk))
                    identifiers.append(
                        Identifier(
                            id=len(identifiers) + 1, entity_id=pk, scheme="uei", value=ids[0]
                        )
                    )
                entities.append(self._entity(pk, "company", name, aliases, ids))
                g.companies.append(pk)
            if reached == MAX_FAMILY_DEPTH:
                g.deep_roots.append(root)
            next_id += len(members)
            remaining -= len(members)
        g.families = family_no

        for i in range(0, len(entities), BATCH):
            self.write(Entity, entities[i : i + BATCH])
        for i in range(0, len(identifiers), BATCH):
            self.write(Identifier, identifiers[i : i + BATCH])
        g.identifiers = len(identifiers)
        return edges

    # Ties -------------------------------------------------------------------------

    def _tie(self, subject: int, obj: int, kind: str, status: str) -> tuple[Any, list[Any]]:
        """A tie and its citations (one, sometimes two): never a tie without one."""
        from receipts.evidence.models import Citation, Tie

        rng = self.rng
        pk = self.next_tie
        self.next_tie += 1
        start_year = rng.randint(2008, 2025)
        end_date = ""
        if status == "ended":
            end_date = partial_date(rng, rng.randint(start_year + 1, 2026))
        amount: Decimal | None = None
        currency = ""
        if kind == "contract":
            amount = Decimal(rng.randrange(1_000_00, 50_000_000_00)).scaleb(-2)
            currency = "USD"
        tie = Tie(
            id=pk,
            subject_id=subject,
            object_id=obj,
            kind=kind,
            status=status,
            start_date=partial_date(rng, start_year),
            end_date=end_date,
            amount=amount,
            currency=currency,
            summary="",
            ftm_id=ftm_id(rng, "tie"),
        )
        citations = []
        for _ in range(2 if rng.random() < 0.05 else 1):
            citations.append(
                Citation(
                    id=self.next_citation,
                    tie_id=pk,
                    source_id=rng.randint(1, self.n_sources),
                    quote="" if kind == "contract" else "The agency confirmed the arrangement.",
                    locator=f"record {pk}",
                )
            )
            self.next_citation += 1
        return tie, citations

    def _write_ties(self, items: Iterator[tuple[Any, list[Any]]], label: str, total: int) -> None:
        from receipts.evidence.models import Citation, Tie

        ties: list[Any] = []
        citations: list[Any] = []
        done = 0
        for tie, cites in items:
            ties.append(tie)
            citations.extend(cites)
            if len(ties) >= BATCH:
                self.write(Tie, ties)
                self.write(Citation, citations)
                done += len(ties)
                self.graph.citations += len(citations)
                ties, citations = [], []
                if done % (BATCH * 10) == 0:
                    log(f"{label}: {done:,} of {total:,} ties", self.started)
        self.write(Tie, ties)
        self.write(Citation, citations)
        self.graph.citations += len(citations)

    def build_structure(self, edges: list[tuple[int, int, str]]) -> None:
        """Ownership (owner -> asset) and part_of (component -> parent) ties."""
        rng = self.rng
        # The first child of each parent carries the line of descent that makes a
        # family deep: only other ownerships may have ended (a sold subsidiary).
        first_child: set[int] = set()
        seen_parents: set[int] = set()
        for parent, child, _kind in edges:
            if parent not in seen_parents:
                seen_parents.add(parent)
                first_child.add(child)

        def items() -> Iterator[tuple[Any, list[Any]]]:
            for parent, child, kind in edges:
                if kind == "owns":
                    ended = child not in first_child and rng.random() < 0.03
                    self.graph.owns += 1
                    yield self._tie(parent, child, "owns", "ended" if ended else "active")
                else:
                    self.graph.part_of += 1
                    yield self._tie(child, parent, "part_of", "active")

        self._write_ties(items(), "ownership and part_of", len(edges))

    def build_dealings(self, count: int) -> None:
        """Contract, hosting, partnership and data_sharing ties from companies to agencies.

        Skewed on both ends, as federal spending is: a few suppliers and a few
        agencies hold most of the ties.
        """
        rng = self.rng
        g = self.graph
        company_cum = list(_cumulative(capped_pareto(rng, 1.3, 60) for _ in g.companies))
        agency_cum = list(_cumulative(capped_pareto(rng, 1.1, 400) for _ in g.agencies))
        status_tables = {
            kind: (tuple(weights), tuple(weights.values()))
            for kind, weights in STATUS_WEIGHTS.items()
        }

        def items() -> Iterator[tuple[Any, list[Any]]]:
            left = count
            while left > 0:
                n = min(left, BATCH)
                subjects = rng.choices(g.companies, cum_weights=company_cum, k=n)
                objects = rng.choices(g.agencies, cum_weights=agency_cum, k=n)
                kinds = rng.choices(DEALING_KINDS, weights=DEALING_KIND_WEIGHTS, k=n)
                for subject, obj, kind in zip(subjects, objects, kinds, strict=True):
                    names, weights = status_tables[kind]
                    status = rng.choices(names, weights=weights)[0]
                    g.dealings += 1
                    yield self._tie(subject, obj, kind, status)
                left -= n

        self._write_ties(items(), "dealings", count)

    def finish(self) -> None:
        """Move id sequences past the explicit ids and refresh the planner's statistics."""
        from django.core.management.color import no_style

        from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie

        conn = self.connection
        statements = conn.ops.sequence_reset_sql(
            no_style(), [Entity, Identifier, Source, Tie, Citation]
        )
        with conn.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
            if conn.vendor == "postgresql":
                # Autovacuum does this on its own soon after a bulk load; do it
                # now so the figures do not depend on its timing.
                cursor.execute("VACUUM ANALYZE")
            elif conn.vendor == "sqlite":
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _cumulative(values: Iterator[float]) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


# --- measuring -----------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def summary(samples: Sequence[float]) -> tuple[float, float]:
    return round(statistics.median(samples), 3), round(percentile(samples, 95), 3)


def reference_ms(repeat: int) -> float:
    """``SELECT count(*) FROM evidence_tie`` through the bare driver, on the same database."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        import sqlite3

        raw: Any = sqlite3.connect(settings["NAME"])
    else:
        import psycopg

        raw = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            password=settings["PASSWORD"],
            host=settings["HOST"],
            port=settings["PORT"] or None,
        )
    try:
        samples = []
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            cursor = raw.cursor()
            cursor.execute("SELECT count(*) FROM evidence_tie")
            cursor.fetchone()
            cursor.close()
            if i:  # the first run only warms the cache
                samples.append((time.perf_counter() - t0) * 1000)
    finally:
        raw.close()
    return statistics.median(samples)


def measure(graph: Graph, repeat: int, seed: int, started: float) -> dict[str, Any]:
    from django.test import Client

    from receipts.evidence.models import Entity
    from receipts.evidence.queries import family_paths, rollup_ties

    rng = random.Random(seed + 1)
    if not graph.deep_roots or not graph.departments:
        raise SystemExit("the graph has no depth-6 family or no department: raise --entities")

    def pairs() -> list[tuple[Entity, Entity]]:
        picked = [
            (rng.choice(graph.deep_roots), rng.choice(graph.departments)) for _ in range(repeat)
        ]
        found = Entity.objects.in_bulk({pk for pair in picked for pk in pair})
        return [(found[a], found[b]) for a, b in picked]

    # Warm the connection, the query compilation and the page cache first.
    for entity, agency in pairs()[:3]:
        rollup_ties(entity, rollup=True, to=agency)

    log(f"timing rollup_ties(rollup=True, to=department) x{repeat}", started)
    to_samples: list[float] = []
    to_counts: list[int] = []
    for entity, agency in pairs():
        ms, rolled = timed(partial(rollup_ties, entity, rollup=True, to=agency))
        to_samples.append(ms)
        to_counts.append(len(rolled))

    log(f"timing family_paths + rollup_ties(rollup=True) x{repeat}", started)
    family_samples: list[float] = []
    family_counts: list[int] = []
    family_sizes: list[int] = []
    for entity, _agency in pairs():

        def whole_family(e: Entity = entity) -> tuple[int, int]:
            paths = family_paths(e.pk)
            return len(paths), len(rollup_ties(e, rollup=True))

        ms, (size, count) = timed(whole_family)
        family_samples.append(ms)
        family_sizes.append(size)
        family_counts.append(count)

    client = Client(HTTP_HOST="localhost")

    def get(path: str) -> tuple[float, int]:
        ms, response = timed(lambda: client.get(path))
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
        return ms, len(response.content)

    picked = [rng.choice(graph.companies) for _ in range(repeat)]
    slugs = dict(Entity.objects.filter(pk__in=set(picked)).values_list("pk", "slug"))
    get(f"/entities/{slugs[picked[0]]}/")  # warm the template cache
    log(f"timing entity pages of random companies x{repeat} (own ties and rollup)", started)
    own_samples: list[float] = []
    rollup_samples: list[float] = []
    for pk in picked:
        slug = slugs[pk]
        own_samples.append(get(f"/entities/{slug}/")[0])
        rollup_samples.append(get(f"/entities/{slug}/?rollup=1")[0])

    log(f"timing rollup pages of depth-{MAX_FAMILY_DEPTH} ultimate parents x{repeat}", started)
    deep_slugs = dict(Entity.objects.filter(pk__in=graph.deep_roots).values_list("pk", "slug"))
    deep_samples: list[float] = []
    deep_bytes: list[int] = []
    for _ in range(repeat):
        ms, size = get(f"/entities/{deep_slugs[rng.choice(graph.deep_roots)]}/?rollup=1")
        deep_samples.append(ms)
        deep_bytes.append(size)

    reference = reference_ms(max(5, repeat // 5))
    rollup_median, rollup_p95 = summary(to_samples)
    page_median, page_p95 = summary(own_samples + rollup_samples)
    family_median, family_p95 = summary(family_samples)
    own_median, own_p95 = summary(own_samples)
    rpage_median, rpage_p95 = summary(rollup_samples)
    deep_median, deep_p95 = summary(deep_samples)
    return {
        "rollup_query_ms_median": rollup_median,
        "rollup_query_ms_p95": rollup_p95,
        "rollup_query_ties_mean": round(statistics.mean(to_counts), 1),
        "rollup_family_ms_median": family_median,
        "rollup_family_ms_p95": family_p95,
        "rollup_family_members_mean": round(statistics.mean(family_sizes), 1),
        "rollup_family_ties_mean": round(statistics.mean(family_counts), 1),
        "entity_page_ms_median": page_median,
        "entity_page_ms_p95": page_p95,
        "entity_page_own_ms_median": own_median,
        "entity_page_own_ms_p95": own_p95,
        "entity_page_rollup_ms_median": rpage_median,
        "entity_page_rollup_ms_p95": rpage_p95,
        "deep_family_page_ms_median": deep_median,
        "deep_family_page_ms_p95": deep_p95,
        "deep_family_page_kb_mean": round(statistics.mean(deep_bytes) / 1024, 1),
        "reference_ms": round(reference, 3),
        "ratio_to_reference": round(rollup_median / reference, 3),
        "entity_page_ratio_to_reference": round(page_median / reference, 3),
        "meets_targets": rollup_median < TARGET_ROLLUP_QUERY_MS
        and page_median < TARGET_ENTITY_PAGE_MS,
        "targets_ms": {
            "rollup_query_median": TARGET_ROLLUP_QUERY_MS,
            "entity_page_median": TARGET_ENTITY_PAGE_MS,
        },
    }


# --- one database, in a worker process -------------------------------------------------


def run_worker(args: argparse.Namespace) -> None:
    """Migrate a fresh database, build the graph, measure, print one JSON line."""
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    # The page figures are of rendering: the public page cache would answer
    # a page asked for twice.
    os.environ["RECEIPTS_PAGE_CACHE"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from receipts.evidence.models import Entity, Tie

    log(f"{connection.vendor}: migrating a fresh database", started)
    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(args.seed)
    builder = Builder(rng, started)
    build_started = time.perf_counter()
    n_sources = max(100, args.ties // 10)
    log(f"building {n_sources:,} sources", started)
    builder.build_sources(n_sources)
    log(f"building {args.entities:,} entities", started)
    edges = builder.build_entities(args.entities)
    log(f"building {len(edges):,} ownership and part_of ties", started)
    builder.build_structure(edges)
    dealings = max(0, args.ties - len(edges))
    log(f"building {dealings:,} dealings", started)
    builder.build_dealings(dealings)
    builder.finish()
    build_s = time.perf_counter() - build_started
    graph = builder.graph
    entities, ties = Entity.objects.count(), Tie.objects.count()
    log(f"built {entities:,} entities and {ties:,} ties in {build_s:.1f}s", started)

    figures = measure(graph, args.repeat, args.seed, started)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("show server_version")
        version = cursor.fetchone()[0]
    result = {
        "database": connection.vendor,
        "database_version": version,
        "entities": entities,
        "ties": ties,
        "companies": len(graph.companies),
        "agencies": len(graph.agencies),
        "departments": len(graph.departments),
        "families": graph.families,
        "deep_families": len(graph.deep_roots),
        "owns_ties": graph.owns,
        "part_of_ties": graph.part_of,
        "dealing_ties": graph.dealings,
        "citations": graph.citations,
        "sources": graph.sources,
        "identifiers": graph.identifiers,
        "build_s": round(build_s, 1),
        "repeat": args.repeat,
        "seed": args.seed,
        **figures,
        "python": platform.python_version(),
        "total_s": round(time.perf_counter() - started, 1),
    }
    connection.close()
    print(json.dumps(result), flush=True)


# --- orchestration ----------------------------------------------------------------------


def worker_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--entities",
        str(args.entities),
        "--ties",
        str(args.ties),
        "--repeat",
        str(args.repeat),
        "--seed",
        str(args.seed),
    ]


def run_in_worker(args: argparse.Namespace, database_url: str | None) -> int:
    """Run one database's benchmark in a fresh process with its own data directory."""
    data_dir = tempfile.mkdtemp(prefix="receipts-bench-")
    env = dict(os.environ)
    env["RECEIPTS_DATA_DIR"] = data_dir
    env["DJANGO_SETTINGS_MODULE"] = "receipts.config.settings"
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    try:
        # The worker's stdout is this script's stdout: its one JSON line passes through.
        return subprocess.run(worker_command(args), env=env, check=False).returncode
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def connect_server(url: str, started: float) -> Any:
    """Connect to the PostgreSQL server, waiting up to a minute for it to accept connections."""
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"PostgreSQL at {urlsplit(url).hostname}: {exc}") from exc
            log("PostgreSQL is not accepting connections yet; retrying", started)
            time.sleep(5)


def run_postgres(args: argparse.Namespace, server_url: str) -> int:
    """Create a throw-away database on the server, benchmark it, drop it."""
    started = time.perf_counter()
    with scratch_database(
        server_url,
        prefix=f"receipts_bench_{os.getpid()}",
        connect=lambda: connect_server(server_url, started),
    ) as url:
        return run_in_worker(args, url)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=100_000, help="default: 100,000")
    parser.add_argument("--ties", type=int, default=1_000_000, help="default: 1,000,000")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per figure")
    parser.add_argument("--seed", type=int, default=20260213)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("DATABASE_URL"),
        help="also run on this PostgreSQL server (default: DATABASE_URL); the role needs "
        "CREATEDB: a fresh database is created and dropped",
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="skip the SQLite run (with --postgres)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    status = 0
    if not args.no_sqlite:
        status |= run_in_worker(args, None)
    if args.postgres:
        status |= run_postgres(args, args.postgres)
    return status


if __name__ == "__main__":
    sys.exit(main())
