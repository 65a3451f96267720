"""Processor time of a hostile upload to ``/screen/`` before it is refused, against a normal one.

The hostile file is 4 MB on one line (``a,a,a,...``): two million header
cells. Each round posts a normal seven-line portfolio and the hostile file
through ``django.test.Client`` in one process, in alternating order, and
measures the thread's processor time and the wall time of each request. As a
reference, the same hostile bytes go through ``screen_file`` without limits
(what the command line does, and what the upload did before it had limits).

Prints one JSON object: ``normal_cpu_s`` and ``hostile_cpu_s`` (min, median,
max), ``hostile_status``, ``ratio_hostile_to_normal`` (medians), and
``unbounded_cpu_s``. Runs on a temporary SQLite database with the demo loaded;
the per-address rate limit is lifted for the run (``guards_relaxed``).

    uv run python benchmarks/screening_upload.py [--rounds 20] [--unbounded-rounds 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOSTILE = b"a," * (2 * 1024 * 1024)
NORMAL = (HERE.parent / "tests" / "data" / "screening" / "portfolio.csv").read_bytes()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """The call's result, its processor time on this thread and its wall time, in seconds."""
    cpu, wall = time.thread_time(), time.perf_counter()
    result = call()
    return result, time.thread_time() - cpu, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--unbounded-rounds", type=int, default=1)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="receipts-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["RECEIPTS_DATA_DIR"] = tmp.name
    os.environ["RECEIPTS_SCREEN_RATE_PER_MINUTE"] = "1000000"
    os.environ["RECEIPTS_SCREEN_RATE_PER_DAY"] = "1000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    from receipts.demo import load_demo
    from receipts.screening.queries import profile_spec
    from receipts.screening.reading import ScreeningInputError
    from receipts.screening.screen import screen_file

    log("migrating and loading the demo ...")
    call_command("migrate", verbosity=0)
    load_demo()
    client = Client(HTTP_HOST="127.0.0.1")

    def post(name: str, data: bytes) -> int:
        upload = SimpleUploadedFile(name, data, content_type="text/csv")
        return client.post("/screen/", {"file": upload, "profile": "dhs"}).status_code

    # One of each first: template compilation and imports are not what is measured.
    post("portfolio.csv", NORMAL)
    post("hostile.csv", HOSTILE)

    normal: list[float] = []
    hostile: list[float] = []
    normal_wall: list[float] = []
    hostile_wall: list[float] = []
    statuses: set[int] = set()
    log(f"{args.rounds} paired rounds ...")
    for i in range(args.rounds):
        order = [("normal", NORMAL), ("hostile", HOSTILE)]
        for kind, data in order if i % 2 == 0 else order[::-1]:
            status, cpu, wall = timed(lambda data=data, kind=kind: post(f"{kind}.csv", data))
            if kind == "normal":
                assert status == 200, status
                normal.append(cpu)
                normal_wall.append(wall)
            else:
                statuses.add(status)
                hostile.append(cpu)
                hostile_wall.append(wall)

    unbounded: list[float] = []
    profile = profile_spec()
    for _ in range(args.unbounded_rounds):
        log("the same hostile bytes without limits (the command line's path) ...")

        def read_unbounded() -> None:
            with contextlib.suppress(ScreeningInputError):  # refused after the work
                screen_file(io.BytesIO(HOSTILE), "hostile.csv", profile, size=len(HOSTILE))

        _result, cpu, _wall = timed(read_unbounded)
        unbounded.append(cpu)

    figures = {
        "rounds": args.rounds,
        "hostile_bytes": len(HOSTILE),
        "hostile_status": sorted(statuses),
        "normal_cpu_s": spread(normal),
        "hostile_cpu_s": spread(hostile),
        "normal_wall_s": spread(normal_wall),
        "hostile_wall_s": spread(hostile_wall),
        "ratio_hostile_to_normal": round(statistics.median(hostile) / statistics.median(normal), 2),
        "unbounded_cpu_s": spread(unbounded) if unbounded else None,
        "guards_relaxed": {
            "RECEIPTS_SCREEN_RATE_PER_MINUTE": 1000000,
            "RECEIPTS_SCREEN_RATE_PER_DAY": 1000000,
        },
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures), flush=True)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
