"""Time web captures of a local page, and re-checks of a source's link.

Serves the test site's article page (a heading, two paragraphs, an image) from
this process, captures it ``--captures`` times through ``capture_source``
(Chromium, WARC/WACZ, PDF, screenshot, text, archive store, database rows),
then re-checks one source ``--checks`` times (each an unchanged page: a full
load and a text comparison). Prints one JSON object with ``capture_s``
(median and p95 seconds per capture), ``rechecks_per_minute``, and
``reference_ms``: the median time to fetch the same page once with urllib.

    uv run python benchmarks/capture.py [--captures 10] [--checks 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--captures", type=int, default=10)
    parser.add_argument("--checks", type=int, default=10)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="receipts-capture-bench-")
    os.environ["RECEIPTS_DATA_DIR"] = folder
    os.environ.pop("DATABASE_URL", None)
    # The page is served on 127.0.0.1: the guard is lifted for this run only.
    os.environ["RECEIPTS_ALLOW_PRIVATE_ADDRESSES"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from tests.captures.site import Site

    from receipts.captures.checks import check_source
    from receipts.captures.services import capture_source
    from receipts.evidence.services import save_source

    site = Site()
    url = site.url("/article")
    try:
        reference = []
        for _ in range(20):
            started = time.perf_counter()
            with urllib.request.urlopen(url) as reply:  # noqa: S310 - a local page
                reply.read()
            reference.append(time.perf_counter() - started)

        log(f"capturing {url} {args.captures} times")
        capture_s = []
        for _ in range(args.captures):
            started = time.perf_counter()
            capture_source(url)
            capture_s.append(time.perf_counter() - started)

        source = save_source(kind="news_report", title="Bench", url=url)
        capture_source(url, source=source)
        log(f"re-checking one source {args.checks} times")
        started = time.perf_counter()
        for _ in range(args.checks):
            check = check_source(source)
            assert check.outcome == "alive", check.outcome
        checks_s = time.perf_counter() - started
    finally:
        site.close()

    print(
        json.dumps(
            {
                "benchmark": "capture",
                "captures": args.captures,
                "capture_s": {
                    "median": round(statistics.median(capture_s), 3),
                    "p95": round(p95(capture_s), 3),
                },
                "checks": args.checks,
                "rechecks_per_minute": round(args.checks / checks_s * 60, 1),
                "reference_ms": round(statistics.median(reference) * 1000, 3),
                "ratio_to_reference": round(
                    statistics.median(capture_s) / statistics.median(reference), 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
