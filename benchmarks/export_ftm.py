"""Time ``receipts export ftm`` on a database holding a USAspending import, against the bare
database driver writing the same rows as JSON lines.

Generates a transactions download (``--rows``, default 1,000,000), imports it into a
fresh database, then runs paired rounds, alternating which goes first: the export
to a file, and the reference, a process that reads the same sources, awards and
transactions (joined to the entities they name) with the bare driver (``sqlite3``
or ``psycopg``) and writes each row with ``json.dumps``, the least any export of
those rows must do. Each run is its own process: its wall time, processor time
(user + system) and peak resident memory come from ``os.wait4``.

Prints one JSON object per database: ``lines_per_s`` and ``transactions_per_s``
(over the median wall time), ``export_wall_s``, ``export_cpu_s`` and
``export_peak_mb`` (min, median, max), the same for the reference, and
``ratio_to_reference`` (median wall times).

    uv run python benchmarks/export_ftm.py [--rows 1000000] [--rounds 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.import_usaspending import files_for  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402

# What the reference reads: the rows behind the export's sources, awards and payments.
REFERENCE_QUERIES = (
    "SELECT s.ftm_id, s.kind, s.title, s.publisher, s.url, s.published, s.retrieved "
    "FROM evidence_source s ORDER BY s.ftm_id",
    "SELECT a.award_key, a.piid, a.parent_piid, a.awarding_agency_code, a.awarding_sub_agency_code, "
    "a.awarding_office_code, a.recipient_uei, a.recipient_duns, a.recipient_name, a.parent_uei, "
    "a.parent_duns, a.parent_name, a.description, a.summary_obligated_cents, a.summary_base_date, "
    "a.summary_latest_date, a.permalink, a.last_modified, g.ftm_id, r.ftm_id, s.ftm_id "
    "FROM ingest_contractaward a LEFT JOIN evidence_entity g ON g.id = a.sub_agency_id "
    "LEFT JOIN evidence_entity r ON r.id = a.recipient_id "
    "LEFT JOIN evidence_source s ON s.id = a.source_id ORDER BY a.award_key",
    "SELECT t.transaction_key, t.award_key, t.modification_number, t.action_date, "
    "t.obligation_cents, t.recipient_uei, t.recipient_duns, t.recipient_name, t.parent_uei, "
    "t.parent_duns, t.parent_name, t.last_modified, t.corrected, r.ftm_id, g.ftm_id, s.ftm_id "
    "FROM ingest_contracttransaction t "
    "LEFT JOIN ingest_contractaward a ON a.award_key = t.award_key "
    "LEFT JOIN evidence_entity r ON r.id = t.recipient_id "
    "LEFT JOIN evidence_entity g ON g.id = a.sub_agency_id "
    "LEFT JOIN evidence_source s ON s.id = a.source_id ORDER BY t.transaction_key",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def reference_export(path: Path) -> None:
    """The reference run: the same rows through the bare driver, one JSON line each."""
    url = os.environ.get("DATABASE_URL")
    if url:
        import psycopg

        conn: Any = psycopg.connect(url)
    else:
        import sqlite3

        conn = sqlite3.connect(Path(os.environ["RECEIPTS_DATA_DIR"]) / "receipts.sqlite3")
    with open(path, "w", encoding="utf-8") as out:
        for n, query in enumerate(REFERENCE_QUERIES):
            # A server-side cursor on PostgreSQL, as the export's iterator() uses.
            cursor = conn.cursor(name=f"reference{n}") if url else conn.cursor()
            cursor.execute(query)
            while rows := cursor.fetchmany(2000):
                for row in rows:
                    out.write(json.dumps(row, default=str) + "\n")
            cursor.close()
    conn.close()


def measured(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run a command in its own process: wall seconds, processor seconds, peak MB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[2:5]} failed with exit code {process.returncode}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
    }


def run_database(
    database: str, files: list[Path], env: dict[str, str], rounds: int, folder: Path
) -> dict[str, Any]:
    receipts = [sys.executable, "-m", "receipts"]
    subprocess.run([*receipts, "migrate", "-v0"], env=env, check=True)
    log(f"{database}: importing {', '.join(f.name for f in files)} ...")
    start = time.perf_counter()
    subprocess.run(
        [*receipts, "import", "usaspending", *map(str, files), "--format", "json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import_s = time.perf_counter() - start
    target, reference = folder / "export.ftm.json", folder / "reference.json"
    commands = {
        "export": [*receipts, "export", "ftm", "-o", str(target)],
        "reference": [sys.executable, str(Path(__file__).resolve()), "--reference", str(reference)],
    }
    runs: dict[str, list[dict[str, float]]] = {"export": [], "reference": []}
    for i in range(rounds):
        order = ["export", "reference"] if i % 2 == 0 else ["reference", "export"]
        for kind in order:
            figures = measured(commands[kind], env)
            runs[kind].append(figures)
            log(f"{database} round {i + 1} {kind}: {json.dumps(figures)}")
    counts: dict[str, int] = {}
    with open(target, encoding="utf-8") as exported:
        for line in exported:
            schema = line[line.rindex('"schema": "') + 11 : -3]
            counts[schema] = counts.get(schema, 0) + 1
    lines = sum(counts.values())
    with open(reference, encoding="utf-8") as written:
        reference_rows = sum(1 for _ in written)
    wall = statistics.median(r["wall"] for r in runs["export"])
    ref_wall = statistics.median(r["wall"] for r in runs["reference"])
    return {
        "database": database,
        "transactions": counts.get("Payment", 0),
        "lines": lines,
        "lines_by_schema": dict(sorted(counts.items())),
        "file_mb": round(target.stat().st_size / 1e6, 1),
        "lines_per_s": round(lines / wall),
        "transactions_per_s": round(counts.get("Payment", 0) / wall),
        "export_wall_s": spread([r["wall"] for r in runs["export"]]),
        "export_cpu_s": spread([r["cpu"] for r in runs["export"]]),
        "export_peak_mb": spread([r["peak_mb"] for r in runs["export"]]),
        "reference_rows": reference_rows,
        "reference_mb": round(reference.stat().st_size / 1e6, 1),
        "reference_wall_s": spread([r["wall"] for r in runs["reference"]]),
        "reference_cpu_s": spread([r["cpu"] for r in runs["reference"]]),
        "reference_peak_mb": spread([r["peak_mb"] for r in runs["reference"]]),
        "ratio_to_reference": round(wall / ref_wall, 2),
        "import_s": round(import_s, 1),
        "rounds": rounds,
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL"), help="also run on this server"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where generated files are kept"
    )
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        reference_export(args.reference)
        return 0

    files = files_for(args.rows, args.seed, args.cache)
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    }
    base_env["PYTHONPATH"] = str(HERE.parent / "src")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp:
            env = {**base_env, "RECEIPTS_DATA_DIR": tmp}
            result = run_database("sqlite", files, env, args.rounds, Path(tmp))
            print(json.dumps({"rows": args.rows, **result}), flush=True)
    if args.postgres:
        with (
            scratch_database(args.postgres) as url,
            tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp,
        ):
            env = {**base_env, "RECEIPTS_DATA_DIR": tmp, "DATABASE_URL": url}
            result = run_database("postgresql", files, env, args.rounds, Path(tmp))
            print(json.dumps({"rows": args.rows, **result}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
