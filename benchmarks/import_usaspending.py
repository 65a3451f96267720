"""Time ``receipts import usaspending`` against DuckDB's ``count(*)`` of the same files.

Every measurement is a whole process (interpreter start included), its CPU the
user + system seconds of the process and all its threads (``os.wait4``). Each
round, on a fresh database, runs in pairs with a ``count(*)`` process beside
each: the first import, a re-import of the same files, and a delta (1% of the
rows modified later); the order within a pair alternates from round to round.
Prints one JSON object per database with flat keys: min/median/max of wall and
CPU seconds, the median of the per-pair ratios (``first_import_cpu_ratio``,
``first_import_wall_ratio``, ``reimport_cpu_ratio``, ...), the rows a re-import
writes (``reimport_rows_written``, every table but the run records), the
delta's seconds, the peak memory of any import, and each phase's seconds
(``phase_<name>_s``, the median over rounds of the first import). On a shared
machine the CPU ratio is the figure to trust.

    uv run python benchmarks/import_usaspending.py [--rows 1000000] [--rounds 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.make_usaspending import generate, generator_fingerprint  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402

# The reference: DuckDB counting the rows of the same files, as a process of its own.
COUNT_SCRIPT = """
import sys, duckdb
files = sys.argv[1:]
listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
print(duckdb.connect().execute(
    f"SELECT count(*) FROM read_csv({listing}, header=true, all_varchar=true)"
).fetchone()[0])
"""


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


def delta_file(files: list[Path], share: float, out: Path) -> tuple[Path, int]:
    """A delta of ``share`` of the rows: every n-th row, its obligation changed and
    modified later than the download; written once and kept beside the files."""
    if out.exists():
        with out.open(newline="", encoding="utf-8") as handle:
            return out, sum(1 for _ in handle) - 1
    step = max(1, round(1 / share))
    written = 0
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = None
        for path in files:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if writer is None:
                    writer = csv.DictWriter(target, reader.fieldnames or [], lineterminator="\r\n")
                    writer.writeheader()
                for n, row in enumerate(reader):
                    if n % step:
                        continue
                    row["federal_action_obligation"] = f"{n % 997}.25"
                    row["last_modified_date"] = "2031-01-01 00:00:00"
                    writer.writerow(row)
                    written += 1
    return out, written


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    stdout: str


def run_process(command: list[str], env: dict[str, str]) -> Run:
    """Run a command to its end; its wall time, and its CPU and peak memory from wait4."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{command[:4]} failed with exit code {proc.returncode}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text)


def count_run(files: list[Path], env: dict[str, str]) -> Run:
    return run_process([sys.executable, "-c", COUNT_SCRIPT, *map(str, files)], env)


def import_run(files: list[Path], env: dict[str, str]) -> tuple[Run, dict[str, Any]]:
    command = [sys.executable, "-m", "receipts", "import", "usaspending", *map(str, files)]
    run = run_process([*command, "--format", "json"], env)
    return run, json.loads(run.stdout)


def paired(files: list[Path], imported: list[Path], env: dict[str, str], count_first: bool) -> Any:
    """One import and one count(*), in the order given."""
    if count_first:
        reference = count_run(files, env)
        done, summary = import_run(imported, env)
    else:
        done, summary = import_run(imported, env)
        reference = count_run(files, env)
    return done, summary, reference


# --- rows written ----------------------------------------------------------------------

_NOT_COUNTED = ("ingest_importrun",)  # the run's own record is written every run


class RowsWritten:
    """Rows inserted, changed or deleted in the database between ``before`` and ``after``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env.get("DATABASE_URL")
        self.sqlite = Path(env.get("RECEIPTS_DATA_DIR", ".")) / "receipts.sqlite3"
        self.copy = self.sqlite.with_name("before-reimport.sqlite3")
        self.counted = 0

    def before(self) -> None:
        if self.url:
            self.counted = self._pg_writes()
            return
        with sqlite3.connect(self.sqlite) as live, sqlite3.connect(self.copy) as copy:
            live.backup(copy)

    def after(self) -> int:
        if self.url:
            # A backend's counts reach the statistics when it ends: wait until they settle.
            last, settled = -1, self._pg_writes()
            while settled != last:
                time.sleep(1)
                last, settled = settled, self._pg_writes()
            return settled - self.counted
        con = sqlite3.connect(self.sqlite)
        try:
            con.execute("ATTACH DATABASE ? AS b", [str(self.copy)])
            tables = [
                t
                for (t,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
                if t not in _NOT_COUNTED
            ]
            written = 0
            for t in tables:
                quoted = '"' + t.replace('"', '""') + '"'
                (changed,) = con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM main.{quoted} "  # noqa: S608
                    f"EXCEPT SELECT * FROM b.{quoted})"
                ).fetchone()
                columns = {r[1] for r in con.execute(f"PRAGMA main.table_info({quoted})")}
                gone = 0
                if "id" in columns:
                    (gone,) = con.execute(
                        f"SELECT count(*) FROM (SELECT id FROM b.{quoted} "  # noqa: S608
                        f"EXCEPT SELECT id FROM main.{quoted})"
                    ).fetchone()
                written += changed + gone
            return written
        finally:
            con.close()
            self.copy.unlink(missing_ok=True)

    def _pg_writes(self) -> int:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            (n,) = con.execute(
                "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                "FROM pg_stat_user_tables WHERE relname <> ALL(%s)",
                [list(_NOT_COUNTED)],
            ).fetchone()
        return int(n)


# --- figures ---------------------------------------------------------------------------


def spread(name: str, values: list[float]) -> dict[str, float]:
    return {
        f"{name}_min": round(min(values), 3),
        f"{name}_median": round(statistics.median(values), 3),
        f"{name}_max": round(max(values), 3),
    }


def measure(
    database: str,
    files: list[Path],
    delta: Path,
    delta_rows: int,
    rounds: int,
    fresh: Any,
) -> dict[str, Any]:
    runs: dict[str, list[Run]] = {"first_import": [], "reimport": [], "delta": []}
    counts: dict[str, list[Run]] = {"first_import": [], "reimport": [], "delta": []}
    rows_written: list[int] = []
    phases: dict[str, list[float]] = {}
    summary: dict[str, Any] = {}
    for n in range(rounds):
        with fresh() as env:
            subprocess.run(
                [sys.executable, "-m", "receipts", "migrate", "-v0"], env=env, check=True
            )
            for step, imported in (
                ("first_import", files),
                ("reimport", files),
                ("delta", [delta]),
            ):
                written = RowsWritten(env)
                if step == "reimport":
                    written.before()
                done, result, reference = paired(files, imported, env, count_first=(n % 2 == 1))
                runs[step].append(done)
                counts[step].append(reference)
                log(
                    f"{database} round {n + 1} {step}: {done.wall:.1f} s wall, {done.cpu:.1f} s CPU; "
                    f"count(*) {reference.wall:.2f} s wall, {reference.cpu:.2f} s CPU"
                )
                if step == "first_import":
                    summary = result
                    by_phase: dict[str, float] = {}
                    for phase, seconds in result.get("phase_seconds", {}).items():
                        # Reading each file is one phase: reading.
                        name = "reading" if phase.startswith("reading ") else phase
                        by_phase[name] = by_phase.get(name, 0) + seconds
                    for name, seconds in by_phase.items():
                        phases.setdefault(name, []).append(seconds)
                if step == "reimport":
                    rows_written.append(written.after())
    out: dict[str, Any] = {
        "database": database,
        "rows": summary.get("rows_read"),
        "rounds": rounds,
        "file_mb": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "delta_rows": delta_rows,
    }
    for step in runs:
        out.update(spread(f"{step}_wall_s", [r.wall for r in runs[step]]))
        out.update(spread(f"{step}_cpu_s", [r.cpu for r in runs[step]]))
    reference_all = [r for step in counts for r in counts[step]]
    out.update(spread("count_wall_s", [r.wall for r in reference_all]))
    out.update(spread("count_cpu_s", [r.cpu for r in reference_all]))
    for step in ("first_import", "reimport"):
        pairs = list(zip(runs[step], counts[step], strict=True))
        out[f"{step}_cpu_ratio"] = round(statistics.median(i.cpu / c.cpu for i, c in pairs), 2)
        out[f"{step}_wall_ratio"] = round(statistics.median(i.wall / c.wall for i, c in pairs), 2)
    out["reimport_rows_written"] = int(statistics.median(rows_written))
    out["delta_seconds"] = round(statistics.median(r.wall for r in runs["delta"]), 3)
    out["delta_cpu_seconds"] = round(statistics.median(r.cpu for r in runs["delta"]), 3)
    out["peak_memory_mb"] = round(max(r.peak_mb for step in runs for r in runs[step]), 1)
    for phase, seconds in phases.items():
        out[f"phase_{phase.replace(' ', '_')}_s"] = round(statistics.median(seconds), 3)
    out["awards"] = summary.get("awards", {}).get("stored")
    out["contract_ties"] = summary.get("ties_created")
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delta-share", type=float, default=0.01)
    parser.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL"), help="also run on this server"
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where generated files are kept"
    )
    args = parser.parse_args()

    files = files_for(args.rows, args.seed, args.cache)
    delta, delta_rows = delta_file(
        files,
        args.delta_share,
        files[0].parent.with_name(f"{files[0].parent.name}-delta-{args.delta_share}.csv"),
    )
    # Bytecode is cached as on any machine: an environment that forbids writing
    # .pyc files would add a second of compiling to every import timed.
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    }
    base_env["PYTHONPATH"] = str(HERE.parent / "src")

    @contextlib.contextmanager
    def sqlite_database() -> Iterator[dict[str, str]]:
        with tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp:
            yield {**base_env, "RECEIPTS_DATA_DIR": tmp}

    @contextlib.contextmanager
    def postgres_database() -> Iterator[dict[str, str]]:
        with (
            scratch_database(args.postgres) as url,
            tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp,
        ):
            yield {**base_env, "RECEIPTS_DATA_DIR": tmp, "DATABASE_URL": url}

    if not args.no_sqlite:
        figures = measure("sqlite", files, delta, delta_rows, args.rounds, sqlite_database)
        print(json.dumps(figures), flush=True)
    if args.postgres:
        figures = measure("postgresql", files, delta, delta_rows, args.rounds, postgres_database)
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
