"""Time ``receipts import usaspending`` on a generated download against DuckDB's raw scan.

Prints one JSON object per database with ``rows_per_s``, ``peak_memory_mb`` and
``ratio_to_duckdb``: the import's wall time divided by the time DuckDB takes
for ``SELECT count(*) FROM read_csv(...)`` on the same files, in the same run.

    uv run python benchmarks/import_usaspending.py [--rows 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.make_usaspending import generate, generator_fingerprint  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def files_for(rows: int, seed: int, cache: Path) -> list[Path]:
    # Keyed on the generator too: files of an older generator are never reused.
    folder = cache / f"transactions-{rows}-{seed}-{generator_fingerprint()}"
    done = folder / ".complete"
    if not done.exists():
        log(f"generating {rows:,} transaction rows into {folder} ...")
        folder.mkdir(parents=True, exist_ok=True)
        generate(rows, "transactions", folder, seed=seed)
        done.write_text("ok")
    return sorted(folder.glob("*.csv"))


def duckdb_count_seconds(files: list[Path], repeat: int = 3) -> tuple[float, int]:
    """Median time of DuckDB's raw count over the files, and the count."""
    listing = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    times, count = [], 0
    for _ in range(repeat):
        con = duckdb.connect()
        start = time.perf_counter()
        (count,) = con.execute(
            f"SELECT count(*) FROM read_csv({listing}, header=true, all_varchar=true)"  # noqa: S608
        ).fetchone()
        times.append(time.perf_counter() - start)
        con.close()
    return statistics.median(times), int(count)


def duckdb_columns_seconds(files: list[Path], repeat: int = 3) -> float:
    """Median time for DuckDB to read just the columns the importer uses into a table.

    A second reference, closer to the work an import cannot avoid: the raw
    ``count(*)`` only splits lines, while any import must also materialise the
    values it needs. DuckDB gets the same 400 MB memory cap as the importer's
    staging database.
    """
    from receipts.ingest.usaspending.files import read_header
    from receipts.ingest.usaspending.formats import column_map, detect_kind

    times = []
    for _ in range(repeat):
        con = duckdb.connect()
        con.execute("SET memory_limit='400MB'")
        start = time.perf_counter()
        for n, f in enumerate(files):
            header = read_header(f, f.name)
            columns = sorted(
                {c for c in column_map(detect_kind(header, f.name), header).values() if c}
            )
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            path = "'" + str(f).replace("'", "''") + "'"
            con.execute(
                f"CREATE TEMP TABLE t{n} AS SELECT {select} "  # noqa: S608
                f"FROM read_csv({path}, header=true, all_varchar=true)"
            )
        times.append(time.perf_counter() - start)
        con.close()
    return statistics.median(times)


def run_import(files: list[Path], env: dict[str, str]) -> tuple[float, float, dict]:
    """Migrate a fresh database, then import; returns (seconds, peak MB, summary)."""
    receipts = [sys.executable, "-m", "receipts"]
    subprocess.run([*receipts, "migrate", "-v0"], env=env, check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out = subprocess.run(
        [*receipts, "import", "usaspending", *map(str, files), "--format", "json"],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
    )
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; migrate is far smaller.
    return seconds, max(peak_kb, before) / 1024, json.loads(out.stdout)


def figures(
    database: str,
    rows: int,
    files: list[Path],
    seconds: float,
    peak_mb: float,
    duck_s: float,
    columns_s: float,
    summary: dict,
) -> dict:
    return {
        "database": database,
        "rows": rows,
        "file_mb": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "import_s": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_memory_mb": round(peak_mb, 1),
        "duckdb_count_s": round(duck_s, 3),
        "ratio_to_duckdb": round(seconds / duck_s, 2),
        "duckdb_read_columns_s": round(columns_s, 3),
        "ratio_to_duckdb_read_columns": round(seconds / columns_s, 2),
        "entities_created": summary["entities_created"],
        "contract_ties": summary["ties_created"],
        "awards": summary["awards"]["stored"],
        "phase_seconds": summary.get("phase_seconds", {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL"), help="also run on this server"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where generated files are kept"
    )
    args = parser.parse_args()

    files = files_for(args.rows, args.seed, args.cache)
    duck_s, counted = duckdb_count_seconds(files)
    log(f"duckdb count(*): {counted:,} rows in {duck_s:.2f} s")
    columns_s = duckdb_columns_seconds(files)
    log(f"duckdb reading the importer's columns into a table: {columns_s:.2f} s")
    # Bytecode is cached as on any machine: an environment that forbids writing
    # .pyc files would add a second of compiling to every import timed.
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    }
    base_env["PYTHONPATH"] = str(HERE.parent / "src")

    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp:
            env = {**base_env, "RECEIPTS_DATA_DIR": tmp}
            seconds, peak, summary = run_import(files, env)
            print(
                json.dumps(
                    figures("sqlite", counted, files, seconds, peak, duck_s, columns_s, summary)
                ),
                flush=True,
            )

    if args.postgres:
        with (
            scratch_database(args.postgres) as url,
            tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp,
        ):
            env = {**base_env, "RECEIPTS_DATA_DIR": tmp, "DATABASE_URL": url}
            seconds, peak, summary = run_import(files, env)
            print(
                json.dumps(
                    figures("postgresql", counted, files, seconds, peak, duck_s, columns_s, summary)
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
