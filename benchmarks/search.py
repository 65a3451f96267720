"""Benchmark of the typo-forgiving site search on many entities.

Fills a fresh SQLite database (a temporary file, removed afterwards) with N
seeded, made-up company names plus "Amazon.com, Inc.", then times a misspelt
query ("amazn") through ``receipts.web.search.search_entities``: once cold
(the process loads the names) and then warm (the names are cached until an
entity changes); the fuzzy step alone is timed too, apart from the database's
substring search that runs before it. Prints one JSON object on stdout; progress goes to stderr.

    uv run python benchmarks/search.py [--entities N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

SYLLABLES = ["ka", "lo", "mi", "ter", "vex", "zan", "dro", "pel", "sun", "quor", "bri", "tal"]
SUFFIXES = ["Inc.", "LLC", "Corp.", "Holdings", "Systems", "Logistics", "Group", "Services"]


def made_up_name(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    return f"{word} {rng.choice(SUFFIXES)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="receipts-search-bench-")
    os.environ["RECEIPTS_DATA_DIR"] = folder
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    from receipts.evidence.models import Entity
    from receipts.web import search

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    print(f"loading {args.entities} entities", file=sys.stderr)
    rows = [
        Entity(slug=f"e-{i}", kind="company", name=made_up_name(rng), search_text="")
        for i in range(args.entities)
    ]
    rows.append(Entity(slug="amazon", kind="company", name="Amazon.com, Inc.", search_text=""))
    Entity.objects.bulk_create(rows, batch_size=20_000)

    started = time.perf_counter()
    found, _fuzzy = search.search_entities("amazn")
    cold_ms = (time.perf_counter() - started) * 1000
    assert any(e.slug == "amazon" for e in found), "amazn must find Amazon"
    warm, fuzzy_step = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        search.search_entities("amazn")
        warm.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        search.ENTITY_NAMES.match("amazn", 50)
        fuzzy_step.append((time.perf_counter() - started) * 1000)
    print(
        json.dumps(
            {
                "benchmark": "search_typo",
                "database": "sqlite",
                "entities": args.entities + 1,
                "choices": len(search.ENTITY_NAMES._current().names),
                "query": "amazn",
                "found_amazon": True,
                "cold_ms": round(cold_ms, 1),
                "warm_median_ms": round(statistics.median(warm), 1),
                "fuzzy_step_warm_median_ms": round(statistics.median(fuzzy_step), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
