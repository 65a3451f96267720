"""Time ``receipts fetch usaspending`` through a local server speaking USAspending's API.

Serves a generated download of ``--rows`` transaction rows (a zip) from the
test server that speaks the bulk download contract, and prints one JSON object:
fetch+import time and peak memory, the import of the same zip alone, their
ratio; then a delta of ``--delta-rows`` modified rows fetched into that full
database, against the same delta fetched into an empty one: the delta's time
should follow its own size, not the database's.

    uv run python benchmarks/fetch_usaspending.py [--rows 1000000] [--delta-rows 5000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.make_usaspending import generate, generator_fingerprint  # noqa: E402
from benchmarks.scratch import scratch_database  # noqa: E402
from tests.fetch.server import serve  # noqa: E402

# Runs one command and prints its peak resident memory (KiB) on the last stderr line.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
    "sys.stdout.buffer.write(done.stdout)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def zip_for(rows: int, seed: int, cache: Path) -> Path:
    folder = cache / f"transactions-zip-{rows}-{seed}-{generator_fingerprint()}"
    done = folder / ".complete"
    if not done.exists():
        log(f"generating {rows:,} transaction rows into {folder} ...")
        folder.mkdir(parents=True, exist_ok=True)
        generate(rows, "transactions", folder, seed=seed, zip_output=True)
        done.write_text("ok")
    (path,) = folder.glob("*.zip")
    return path


def delta_zip(source: Path, rows: int, out: Path) -> Path:
    """The first ``rows`` rows of the download, each modified later (a correction)."""
    with zipfile.ZipFile(source) as z:
        name = sorted(z.namelist())[0]
        reader = csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8", newline=""))
        header = list(reader.fieldnames or [])
        changed = []
        for row in reader:
            row["federal_action_obligation"] = f"{float(row['federal_action_obligation']) + 1:.2f}"
            row["last_modified_date"] = "2030-01-01 00:00:00"
            row["correction_delete_ind"] = "C"
            changed.append(row)
            if len(changed) >= rows:
                break
    if "correction_delete_ind" not in header:
        header.append("correction_delete_ind")
    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(changed)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Contracts_PrimeTransactions_2030-01-01_H00M00S00_1.csv", text.getvalue())
    return out


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """(seconds, peak MB, the JSON summary) of one command."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args], env=env, capture_output=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr.decode()[-3000:]}")
    peak_kb = int(done.stderr.decode().strip().splitlines()[-1])
    return seconds, peak_kb / 1024, json.loads(done.stdout)


def fresh_env(base: dict[str, str], data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {**base, "RECEIPTS_DATA_DIR": str(data_dir)}
    if database_url:
        env["DATABASE_URL"] = database_url
    receipts = [sys.executable, "-m", "receipts"]
    subprocess.run([*receipts, "migrate", "-v0"], env=env, check=True)
    return env


def run(args: argparse.Namespace, database_url: str | None, label: str) -> dict[str, Any]:
    zipped = zip_for(args.rows, args.seed, args.cache)
    receipts = [sys.executable, "-m", "receipts"]
    fetch = [*receipts, "fetch", "usaspending", "--agency", "ICE", "--format", "json"]
    with (
        tempfile.TemporaryDirectory(prefix="receipts-fetch-bench-") as tmp,
        contextlib.ExitStack() as scratch,
    ):
        tmp_path = Path(tmp)
        delta = delta_zip(zipped, args.delta_rows, tmp_path / "delta.zip")
        for state in serve():
            base = {
                **os.environ,
                "PYTHONPATH": str(HERE.parent / "src"),
                "RECEIPTS_USASPENDING_API": state.url,
                "RECEIPTS_ALLOW_PRIVATE_ADDRESSES": "1",
                "RECEIPTS_USASPENDING_POLL_SECONDS": "0.2",
            }

            def database(name: str, base: dict[str, str] = base) -> dict[str, str]:
                if database_url:
                    url = scratch.enter_context(scratch_database(database_url, f"fetch_{name}"))
                    return fresh_env(base, tmp_path / name, url)
                return fresh_env(base, tmp_path / name, None)

            log(f"[{label}] import alone ...")
            import_s, import_mb, _ = measured(
                [*receipts, "import", "usaspending", str(zipped), "--format", "json"],
                database("import"),
            )
            log(f"[{label}] fetch + import ...")
            state.add(zipped, running_polls=1)
            full_env = database("fetch")
            fetch_s, fetch_mb, fetched = measured(fetch, full_env)
            log(f"[{label}] delta into the full database ...")
            state.add(delta, running_polls=1)
            delta_s, delta_mb, delta_summary = measured(fetch, full_env)
            log(f"[{label}] the same delta into an empty database ...")
            state.add(delta, running_polls=1)
            alone_s, _, _ = measured(fetch, database("delta"))
        return {
            "database": label,
            "rows": args.rows,
            "zip_mb": round(zipped.stat().st_size / 1e6, 1),
            "fetch_import_s": round(fetch_s, 2),
            "fetch_peak_memory_mb": round(fetch_mb, 1),
            "import_alone_s": round(import_s, 2),
            "import_peak_memory_mb": round(import_mb, 1),
            "ratio_to_import": round(fetch_s / import_s, 3),
            "stored": fetched["import"]["transactions"]["stored"],
            "delta_rows": args.delta_rows,
            "delta_into_full_s": round(delta_s, 2),
            "delta_into_empty_s": round(alone_s, 2),
            "delta_ratio_full_to_empty": round(delta_s / alone_s, 2),
            "delta_peak_memory_mb": round(delta_mb, 1),
            "delta_updated": delta_summary["import"]["transactions"]["updated"],
            "delta_into_full_phase_seconds": delta_summary["import"].get("phase_seconds", {}),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--delta-rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=None, help="run on this PostgreSQL server instead")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "out", help="where generated files are kept"
    )
    args = parser.parse_args()
    label = "postgresql" if args.postgres else "sqlite"
    print(json.dumps(run(args, args.postgres, label), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
