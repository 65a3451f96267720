"""Time a flood of sign-ups from one address against the rate limit, per answer.

Posts ``--posts`` sign-ups (1,000 by default) in a row from one client
address to the demo's sign-up form through ``django.test.Client``, with the
limits as configured (5 a minute and 50 a day unless the environment says
otherwise), and a sign-up from another address halfway through. Measures the
thread's processor time and the wall time of each post, grouped by answer: a
303 (stored) or a 429 (refused). As a reference, the same client opens the
form page (a GET) as many times as ``--reference`` says.

Prints one JSON object: ``flood_s`` (the whole flood), ``posts_per_s``,
``stored`` and ``refused`` (their counts, checked against the stored
submissions), ``accepted_cpu_s``/``_wall_s`` and ``refused_cpu_s``/``_wall_s``
(min, median, max), ``reference_wall_s`` and ``ratio_refused_to_reference``
(wall medians). Runs on a temporary SQLite database, or with ``--postgres``
on a fresh database created on that server and dropped at the end.

    uv run python benchmarks/signup_flood.py [--posts 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.scratch import scratch_database  # noqa: E402

FLOOD_ADDRESS = "203.0.113.66"
NEIGHBOUR_ADDRESS = "198.51.100.200"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "min": round(min(values), 5),
        "median": round(statistics.median(values), 5),
        "max": round(max(values), 5),
    }


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """The call's result, its processor time on this thread and its wall time, in seconds."""
    cpu, wall = time.thread_time(), time.perf_counter()
    result = call()
    return result, time.thread_time() - cpu, time.perf_counter() - wall


def flood(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    # Every refusal is logged as a warning; a thousand of them hide the progress.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from receipts.demo import EMPLOYEE_FORM_SLUG, load_demo
    from receipts.outreach.forms import HONEYPOT, started_token
    from receipts.outreach.models import SignupForm, Submission

    log(f"{connection.vendor}: migrating and loading the demo ...")
    call_command("migrate", verbosity=0)
    load_demo()
    form = SignupForm.objects.select_related("campaign").get(slug=EMPLOYEE_FORM_SLUG)
    url = reverse("outreach-join", args=[form.campaign.slug, form.slug])
    before = Submission.objects.count()

    def post(client: Client, n: int, address: str) -> int:
        data = {
            # Opened a minute ago: the minimum fill time is not what is measured.
            "started": started_token(form, at=time.time() - 60),
            "source": "",
            "consent": "on",
            HONEYPOT: "",
            "name": f"Quillon Floodperson{n}",
            "email": f"flood.{n}@example.org",
        }
        return client.post(url, data, REMOTE_ADDR=address).status_code

    reference_client = Client(HTTP_HOST="127.0.0.1")
    reference_client.get(url)  # template compilation is not what is measured
    reference = [
        timed(lambda: reference_client.get(url).status_code)[2] for _ in range(args.reference)
    ]

    flooder, neighbour = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    cpu: dict[int, list[float]] = {}
    wall: dict[int, list[float]] = {}
    neighbour_statuses = []
    log(f"{args.posts:,} sign-ups from one address ...")
    started = time.perf_counter()
    for n in range(args.posts):
        status, spent, took = timed(lambda n=n: post(flooder, n, FLOOD_ADDRESS))
        cpu.setdefault(status, []).append(spent)
        wall.setdefault(status, []).append(took)
        if n == args.posts // 2:
            neighbour_statuses.append(post(neighbour, 10**6, NEIGHBOUR_ADDRESS))
    flood_s = time.perf_counter() - started

    stored = len(cpu.get(303, []))
    refused = len(cpu.get(429, []))
    kept = Submission.objects.count() - before
    if set(cpu) - {303, 429}:
        raise SystemExit(f"sign-ups answered {sorted(cpu)}; expected only 303 and 429")
    if kept != stored + neighbour_statuses.count(303):
        raise SystemExit(f"{kept} submissions stored for {stored} sign-ups answered 303")
    refused_wall = wall.get(429, [])
    return {
        "database": connection.vendor,
        "posts": args.posts,
        "flood_s": round(flood_s, 2),
        "posts_per_s": round(args.posts / flood_s, 1),
        "stored": stored,
        "refused": refused,
        "neighbour_statuses": neighbour_statuses,
        "accepted_cpu_s": spread(cpu.get(303, [])),
        "accepted_wall_s": spread(wall.get(303, [])),
        "refused_cpu_s": spread(cpu.get(429, [])),
        "refused_wall_s": spread(refused_wall),
        "reference_wall_s": spread(reference),
        "ratio_refused_to_reference": (
            round(statistics.median(refused_wall) / statistics.median(reference), 2)
            if refused_wall
            else None
        ),
        "limits": {
            "OUTREACH_RATE_PER_MINUTE": settings.OUTREACH_RATE_PER_MINUTE,
            "OUTREACH_RATE_PER_DAY": settings.OUTREACH_RATE_PER_DAY,
        },
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--reference", type=int, default=50, help="GETs of the form page")
    parser.add_argument("--postgres", help="run on a fresh database on this server instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="receipts-bench-") as tmp:
        os.environ["RECEIPTS_DATA_DIR"] = tmp
        if args.postgres:
            with scratch_database(args.postgres) as url:
                os.environ["DATABASE_URL"] = url
                figures = flood(args)
                from django.db import connections

                connections.close_all()  # before the database is dropped
        else:
            os.environ.pop("DATABASE_URL", None)
            figures = flood(args)
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
