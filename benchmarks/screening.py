"""Time ``receipts screen`` on a generated 100,000-line portfolio against a raw CSV read.

Each database gets a fresh evidence graph: the demo plus ``--entities``
synthetic companies (a ticker each for half of them, some owned by others,
some with contracts with ICE or CBP). The portfolio mixes known and unknown
tickers and ISINs, exact names, near names and unknown names, each with a
market value. Prints one JSON object per database with ``rows_per_s`` (lines
over the screen's wall time, file to finished report, outputs excluded),
``csv_write_s`` (the CSV report), ``read_s`` (the holdings reader alone,
without the database), and ``ratio_to_csv_read``: the screen's
time over the median time Python's csv module takes to read the same file.

    uv run python benchmarks/screening.py [--rows 100000] [--entities 20000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scratch import scratch_database  # noqa: E402

HERE = Path(__file__).resolve().parent

BRANDS = (
    "Aster", "Boreal", "Cobalt", "Delta", "Ember", "Fathom", "Granite", "Harbor", "Iron",
    "Juniper", "Keystone", "Lumen", "Meridian", "Northgate", "Orbit", "Palisade", "Quarry",
    "Redwood", "Summit", "Tidal",
)  # fmt: skip
TRADES = (
    "Analytics", "Systems", "Dynamics", "Networks", "Logistics", "Data", "Cloud", "Defense",
    "Security", "Labs", "Solutions", "Technologies",
)  # fmt: skip
FORMS = ("Inc", "LLC", "Corp", "Ltd", "Group")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def company_name(n: int) -> str:
    """The n-th synthetic company: the same name for the same n on every run."""
    return (
        f"{BRANDS[n % len(BRANDS)]} {TRADES[(n // len(BRANDS)) % len(TRADES)]} "
        f"{n} {FORMS[n % len(FORMS)]}"
    )


def ticker(n: int) -> str:
    return f"B{n:05d}"


def write_portfolio(path: Path, rows: int, entities: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ticker", "ISIN", "Issuer Name", "Market Value (USD)"])
        for i in range(rows):
            n = rng.randrange(entities)
            value = f"{rng.randint(1_000, 5_000_000)}.{rng.randint(0, 99):02d}"
            pick = rng.random()
            if pick < 0.30:  # a known ticker (half the companies have one)
                writer.writerow([ticker(n - n % 2), "", company_name(n - n % 2), value])
            elif pick < 0.40:  # the demo's tickers
                writer.writerow([rng.choice(("AMZN", "PLTR", "TGT")), "", "", value])
            elif pick < 0.65:  # an exact name
                writer.writerow(["", "", company_name(n), value])
            elif pick < 0.75:  # a near name: the legal form left out
                writer.writerow(["", "", company_name(n).rsplit(" ", 1)[0], value])
            elif pick < 0.85:  # an unknown ISIN
                writer.writerow(["", f"US{i:09d}0", f"Unlisted Holding {i}", value])
            else:  # an unknown ticker and name
                writer.writerow([f"Z{i:06d}", "", f"Nobody Known {i} Plc", value])


def csv_read_seconds(path: Path, repeat: int = 3) -> float:
    """Median time of Python's csv module reading the file: the floor of any screen."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as handle:
            for _row in csv.reader(handle):
                pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the worker: one database -------------------------------------------------------------


def populate(entities: int, seed: int) -> dict[str, int]:
    """The demo plus synthetic companies, owners and contract ties with ICE and CBP."""
    from receipts.demo import load_demo
    from receipts.evidence import services as evidence
    from receipts.evidence.entities import NewEntity, create_entities
    from receipts.evidence.models import Entity, TieKind, TieStatus

    load_demo()
    rng = random.Random(seed)
    specs = [
        NewEntity(
            name=company_name(n),
            kind="company",
            identifiers=(("ticker", ticker(n)),) if n % 2 == 0 else (),
        )
        for n in range(entities)
    ]
    created: list = []
    for start in range(0, len(specs), 5000):
        created.extend(create_entities(specs[start : start + 5000]))
    source = evidence.save_source(kind="dataset_row", title="Synthetic contract records")
    ice = Entity.objects.get(slug="us-immigration-and-customs-enforcement")
    cbp = Entity.objects.get(slug="us-customs-and-border-protection")
    owned = [
        evidence.TieSpec(
            subject_id=created[n - 1].pk,
            object_id=created[n].pk,
            kind=TieKind.OWNS,
            ftm_id=f"bench-owns-{n}",
            citations=[(source.pk, "", f"owner row {n}")],
        )
        for n in range(1, entities)
        if n % 20 == 1
    ]
    evidence.record_structural_ties_bulk(owned)
    contracts = [
        evidence.TieSpec(
            subject_id=created[n].pk,
            object_id=rng.choice((ice, cbp)).pk,
            kind=TieKind.CONTRACT,
            ftm_id=f"bench-contract-{n}",
            citations=[(source.pk, "", f"award row {n}")],
            status=rng.choice((TieStatus.ACTIVE, TieStatus.ENDED)),
        )
        for n in range(entities)
        if n % 7 == 0
    ]
    evidence.record_ties_bulk(contracts)
    return {"entities": Entity.objects.count(), "contract_ties": len(contracts)}


def worker(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from receipts.screening.queries import profile_spec
    from receipts.screening.reading import HoldingsFile
    from receipts.screening.report import write_csv
    from receipts.screening.screen import screen_file

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    graph = populate(args.entities, args.seed)
    build_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    path = Path(args.file)
    # The reader alone (decoding, limits, header and cells): the part of the screen
    # that grows with the file whatever the graph.
    with path.open("rb") as stream:
        start = time.perf_counter()
        read_lines = sum(1 for _ in HoldingsFile(stream, path.name, size=path.stat().st_size))
        read_s = time.perf_counter() - start
    profile = profile_spec()
    with path.open("rb") as stream:
        start = time.perf_counter()
        report = screen_file(stream, path.name, profile, size=path.stat().st_size)
        screen_s = time.perf_counter() - start
    start = time.perf_counter()
    write_csv(report, io.StringIO())
    csv_write_s = time.perf_counter() - start
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "lines": report.counts["lines"],
                "screen_s": round(screen_s, 2),
                "rows_per_s": round(report.counts["lines"] / screen_s),
                "csv_write_s": round(csv_write_s, 2),
                "read_s": round(read_s, 2),
                "read_lines": read_lines,
                "flagged": report.counts["flagged"],
                "possible": report.counts["possible"],
                "clear": report.counts["clear"],
                "not_found": report.counts["not_found"],
                "flagged_value_share": round(report.flagged_value_share or 0, 4),
                "graph_entities": graph["entities"],
                "graph_contract_ties": graph["contract_ties"],
                "build_s": round(build_s, 1),
            }
        ),
        flush=True,
    )
    return 0


def run_worker(args: argparse.Namespace, path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            "--file",
            str(path),
            "--entities",
            str(args.entities),
            "--seed",
            str(args.seed),
        ],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL"), help="also run on this server"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where the generated file is kept"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"screening-{args.rows}-{args.entities}-{args.seed}.csv"
    if not path.exists():
        log(f"generating {args.rows:,} portfolio lines into {path} ...")
        write_portfolio(path, args.rows, args.entities, args.seed)
    reference_s = csv_read_seconds(path)
    log(f"csv module read: {args.rows:,} rows in {reference_s:.3f} s")
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env["PYTHONPATH"] = str(HERE.parent / "src")

    def report(figures: dict) -> None:
        figures["file_mb"] = round(path.stat().st_size / 1e6, 1)
        figures["csv_read_s"] = round(reference_s, 3)
        figures["ratio_to_csv_read"] = round(figures["screen_s"] / reference_s, 1)
        print(json.dumps(figures), flush=True)

    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp:
            log("sqlite: building the graph and screening ...")
            report(run_worker(args, path, {**base_env, "RECEIPTS_DATA_DIR": tmp}))

    if args.postgres:
        with (
            scratch_database(args.postgres) as url,
            tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp,
        ):
            log("postgresql: building the graph and screening ...")
            env = {**base_env, "RECEIPTS_DATA_DIR": tmp, "DATABASE_URL": url}
            report(run_worker(args, path, env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
