"""Pairwise precision and recall of name-only recipient clustering against identifier truth.

Clusters the distinct recipient and parent names of a generated download and of each real
sample file with ``cluster_names`` alone, then scores every pair of distinct names: a pair is
predicted the same company when both names sit in one cluster, and truly the same when both
carry one company's identifier. The truth of generated names is the generator's; in a real
file it is the UEI, else the DUNS (left-padded to nine digits), joined where a row has both.
Prints one JSON object per data set on stdout, one line each; progress goes to stderr.

    uv run python benchmarks/resolution_quality.py [--rows 200000] [--seed 1] [--repeat 3]
                                                   [--no-parents]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.make_usaspending import (  # noqa: E402
    generate,
    generator_fingerprint,
    read_truth,
)

TARGET_PRECISION = 0.99
TARGET_RECALL = 0.9
EXAMPLES = 5
# The reference takes milliseconds: more runs behind its median keep the ratio steady.
REFERENCE_REPEAT = 21
SAMPLES = HERE.parent / "tests" / "data" / "usaspending"

# Where a download names a company, and where it gives that company's identifiers.
NAME_ROLES: tuple[tuple[str, str, str], ...] = (
    ("recipient_name", "recipient_uei", "recipient_duns"),
    ("recipient_parent_name", "recipient_parent_uei", "recipient_parent_duns"),
    ("prime_awardee_name", "prime_awardee_uei", "prime_awardee_duns"),
    ("prime_awardee_parent_name", "prime_awardee_parent_uei", "prime_awardee_parent_duns"),
    ("subawardee_name", "subawardee_uei", "subawardee_duns"),
    ("subawardee_parent_name", "subawardee_parent_uei", "subawardee_parent_duns"),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class LabelledNames:
    """Distinct names, each with the company it truly names, and what was left out."""

    dataset: str
    columns: tuple[str, ...]  # the name columns read
    company_of: dict[str, str]
    without_identifier: int = 0
    with_two_companies: int = 0


# --- Ground truth -----------------------------------------------------------------------


def generated_download(rows: int, seed: int, cache: Path) -> tuple[list[Path], Path]:
    """A transactions download and its truth file, generated once per rows, seed and generator."""
    folder = cache / f"resolution-transactions-{rows}-{seed}-{generator_fingerprint()}"
    truth = folder / "truth.jsonl"
    done = folder / ".complete"
    if not done.exists():
        log(f"generating {rows:,} transaction rows into {folder} ...")
        folder.mkdir(parents=True, exist_ok=True)
        generate(rows, "transactions", folder, seed=seed, truth_path=truth, progress=True)
        done.write_text("ok")
    return sorted(folder.glob("*.csv")), truth


def named_companies(path: Path, parents: bool) -> tuple[list[str], Counter[tuple[str, str, str]]]:
    """The name columns a file has, and how often its rows give each (name, UEI, DUNS)."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        slot = {column: i for i, column in enumerate(header)}
        roles = [
            (name, slot[name], slot.get(uei), slot.get(duns))
            for name, uei, duns in NAME_ROLES
            if name in slot and (parents or "_parent_" not in name)
        ]
        if not roles:
            raise ValueError(f"{path}: none of the name columns {[r[0] for r in NAME_ROLES]}")
        seen: Counter[tuple[str, str, str]] = Counter()
        for row in reader:
            for _column, name_at, uei_at, duns_at in roles:
                name = row[name_at].strip()
                if not name:
                    continue
                uei = row[uei_at].strip().upper() if uei_at is not None else ""
                duns = row[duns_at].strip() if duns_at is not None else ""
                seen[(name, uei, duns.zfill(9) if duns.strip("0") else "")] += 1
    return [role[0] for role in roles], seen


def labels_from_truth(
    dataset: str, files: list[Path], truth_path: Path, parents: bool
) -> LabelledNames:
    truth = read_truth(truth_path)
    company_of: dict[str, str] = {}
    columns: list[str] = []
    for path in files:
        columns, named = named_companies(path, parents)
        for name, _uei, _duns in named:
            if name not in truth.names:
                raise ValueError(f"{path}: {name!r} is in the rows but not in {truth_path}")
            company_of[name] = truth.names[name].uei
    return LabelledNames(dataset, tuple(columns), company_of)


def generated(rows: int, seed: int, cache: Path, parents: bool) -> LabelledNames:
    files, truth = generated_download(rows, seed, cache)
    return labels_from_truth(f"generated-transactions-{rows}-seed{seed}", files, truth, parents)


def labels_from_identifiers(dataset: str, path: Path, parents: bool) -> LabelledNames:
    """Each name's company: the UEI, else the DUNS, joined where one row carries both."""
    joined: dict[str, str] = {}

    def find(identifier: str) -> str:
        joined.setdefault(identifier, identifier)
        while joined[identifier] != identifier:
            joined[identifier] = joined[joined[identifier]]
            identifier = joined[identifier]
        return identifier

    seen_with: dict[str, Counter[str]] = {}
    without: set[str] = set()
    columns, named = named_companies(path, parents)
    for (name, uei, duns), times in named.items():
        identifiers = [f"uei:{uei}"] if uei else []
        if duns:
            identifiers.append(f"duns:{duns}")
        if not identifiers:
            without.add(name)
            continue
        for other in identifiers[1:]:
            joined[find(other)] = find(identifiers[0])
        seen_with.setdefault(name, Counter())[identifiers[0]] += times
    company_of: dict[str, str] = {}
    two_companies = 0
    for name, counts in seen_with.items():
        companies = Counter[str]()
        for identifier, count in counts.items():
            companies[find(identifier)] += count
        # A name a file gives two companies (THE MITRE CORPORATION as a recipient and as
        # its own parent, under two DUNS) counts for the one its rows give most often.
        two_companies += len(companies) > 1
        company_of[name] = min(companies.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return LabelledNames(
        dataset,
        tuple(columns),
        company_of,
        without_identifier=len(without - company_of.keys()),
        with_two_companies=two_companies,
    )


# --- Scoring ------------------------------------------------------------------------------


def pairs(n: int) -> int:
    return n * (n - 1) // 2


def ratio(numerator: int, denominator: int) -> float:
    return 1.0 if denominator == 0 else numerator / denominator


def pair_example(a: str, b: str, company_of: dict[str, str]) -> dict[str, Any]:
    from receipts.ingest.resolution import names_match

    return {
        "a": a,
        "b": b,
        "a_company": company_of[a],
        "b_company": company_of[b],
        "score": round(names_match(a, b), 1),
    }


def false_merges(clusters: list[set[str]], company_of: dict[str, str]) -> list[dict[str, Any]]:
    """Pairs of names of two companies that one cluster holds, a few clusters' worth."""
    examples: list[dict[str, Any]] = []
    for cluster in sorted(clusters, key=min):
        by_company: dict[str, list[str]] = {}
        for name in sorted(cluster):
            by_company.setdefault(company_of[name], []).append(name)
        if len(by_company) < 2:
            continue
        firsts = sorted(names[0] for names in by_company.values())
        for a, b in itertools.combinations(firsts, 2):
            examples.append(pair_example(a, b, company_of))
            if len(examples) == EXAMPLES:
                return examples
    return examples


def missed_merges(clusters: list[set[str]], company_of: dict[str, str]) -> list[dict[str, Any]]:
    """Pairs of names of one company that two clusters hold."""
    clusters_of: dict[str, dict[int, str]] = {}
    for number, cluster in enumerate(sorted(clusters, key=min)):
        for name in sorted(cluster):
            clusters_of.setdefault(company_of[name], {}).setdefault(number, name)
    examples: list[dict[str, Any]] = []
    for company in sorted(clusters_of):
        firsts = sorted(clusters_of[company].values())
        if len(firsts) > 1:
            examples.append(pair_example(firsts[0], firsts[1], company_of))
            if len(examples) == EXAMPLES:
                break
    return examples


def exact_grouping(names: Iterable[str]) -> list[list[str]]:
    """The reference: names that are equal once case and spacing are set aside."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(" ".join(name.casefold().split()), []).append(name)
    return list(groups.values())


def median_seconds(work: Callable[[], object], repeat: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(labelled: LabelledNames, repeat: int) -> dict[str, Any]:
    from receipts.ingest.resolution import cluster_names, parse_name

    company_of = labelled.company_of
    names = sorted(company_of)
    clusters = cluster_names(names)
    # Every timed run starts cold: the importer parses each name once.
    seconds = median_seconds(lambda: cluster_names(names), repeat, parse_name.cache_clear)
    reference = median_seconds(lambda: exact_grouping(names), REFERENCE_REPEAT, lambda: None)

    predicted = sum(pairs(len(cluster)) for cluster in clusters)
    true_positive = sum(
        pairs(count)
        for cluster in clusters
        for count in Counter(company_of[name] for name in cluster).values()
    )
    actual = sum(pairs(count) for count in Counter(company_of.values()).values())
    precision = ratio(true_positive, predicted)
    recall = ratio(true_positive, actual)
    return {
        "dataset": labelled.dataset,
        "columns": list(labelled.columns),
        "names": len(names),
        "true_clusters": len(set(company_of.values())),
        "predicted_clusters": len(clusters),
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "false_merge_pairs": predicted - true_positive,
        "missed_pairs": actual - true_positive,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "meets_targets": precision >= TARGET_PRECISION and recall >= TARGET_RECALL,
        "names_without_identifier": labelled.without_identifier,
        "names_of_two_companies": labelled.with_two_companies,
        "seconds": round(seconds, 6),
        "reference_s": round(reference, 6),
        "ratio_to_reference": round(seconds / reference, 1) if reference else None,
        "false_merges": false_merges(clusters, company_of),
        "missed_merges": missed_merges(clusters, company_of),
    }


# --- Entry point --------------------------------------------------------------------------


def setup_django() -> None:
    """The resolver module loads the models; no database is opened."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    # Without it, settings would write a secret key into ./receipts-data.
    os.environ.setdefault("RECEIPTS_SECRET_KEY", "resolution-quality-benchmark")
    import django

    django.setup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="generated rows; 0 skips them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs behind each median")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where generated files are kept"
    )
    parser.add_argument(
        "--samples", type=Path, default=SAMPLES, help="folder of real USAspending CSV files"
    )
    parser.add_argument(
        "--no-parents",
        dest="parents",
        action="store_false",
        help="leave out the parent name columns: recipients (and subawardees) only",
    )
    args = parser.parse_args(argv)
    setup_django()

    # Loaded one at a time, as each is measured.
    datasets: list[Callable[[], LabelledNames]] = []
    if args.rows > 0:
        datasets.append(partial(generated, args.rows, args.seed, args.cache, args.parents))
    for path in sorted(args.samples.glob("*.csv")):
        datasets.append(partial(labels_from_identifiers, path.stem, path, args.parents))

    for load in datasets:
        labelled = load()
        log(f"{labelled.dataset}: clustering {len(labelled.company_of):,} names ...")
        print(json.dumps(measure(labelled, args.repeat), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
