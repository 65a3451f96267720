"""Load the demo served by ``receipts serve`` (gunicorn) with locust, at several user counts.

Creates a fresh database (PostgreSQL, or SQLite with ``--sqlite``), loads the
demo into it, starts ``receipts serve`` on a free port of 127.0.0.1 and runs
locust headless against it for each user count. Prints one JSON object per
user count with p50/p95/p99 and requests/s for public pages, API reads and
the sign-up form, error counts, and a reference measured in the same run: a
static file (``/static/web/receipts.css``) served by the same server, in the
same mix.

    uv run python benchmarks/load.py --postgres URL [--users 10,50,200] [--run-time 30]

The server caches public pages for anonymous readers (``receipts.pagecache``);
``--no-page-cache`` runs it with the cache off (``RECEIPTS_PAGE_CACHE=0``), to
measure what rendering every request costs.

The file is also the locustfile: ``locust -f benchmarks/load.py`` reads the
user class below.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scratch import scratch_database  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PUBLIC_PAGES = [
    "/",
    "/entities/amazon/",
    "/entities/amazon/?rollup=1",
    "/campaigns/amazon-dump-ice/",
    "/?q=Amazon",
]
API_READS = ["/api/entities/amazon/ties?rollup=true", "/api/campaigns/amazon-dump-ice"]
FORM = "/campaigns/amazon-dump-ice/join/amazon-employees/"
STATIC = "/static/web/receipts.css"
# Request names in locust's statistics: one row per kind of request.
KINDS = ["public", "api", "form_get", "form_post", "static"]

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STARTED_RE = re.compile(r'name="started" value="([^"]+)"')


class Visitor(HttpUser):
    """A visitor of the public site: mostly pages, some API reads, now and then a sign-up."""

    wait_time = between(
        float(os.environ.get("LOAD_WAIT_MIN", "0.5")), float(os.environ.get("LOAD_WAIT_MAX", "1.5"))
    )

    @task(16)
    def public_page(self) -> None:
        self.client.get(random.choice(PUBLIC_PAGES), name="public")

    @task(4)
    def api_read(self) -> None:
        self.client.get(random.choice(API_READS), name="api")

    @task(1)
    def static_file(self) -> None:
        self.client.get(STATIC, name="static")

    @task(1)
    def sign_up(self) -> None:
        page = self.client.get(FORM, name="form_get")
        csrf, started = CSRF_RE.search(page.text), STARTED_RE.search(page.text)
        if csrf is None or started is None:
            return  # the GET is already counted; a failed one shows as an error
        tag = uuid.uuid4().hex[:12]
        data = {
            "csrfmiddlewaretoken": csrf.group(1),
            "started": started.group(1),
            "source": "",
            "name": f"Load Tester {tag}",
            "email": f"load-{tag}@example.org",
            "employer": "Amazon",
            "role": "Warehouse associate",
            "city": "Seattle",
            "fax_number_confirm": "",
            "consent": "on",
        }
        with self.client.post(
            FORM, data=data, name="form_post", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code in (302, 303):
                response.success()
            else:
                response.failure(f"sign-up answered {response.status_code}")


# --- the driver -------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"receipts serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + STATIC, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("receipts serve did not answer in time")


def warm_up(base: str) -> None:
    """One request per address and worker thread, so no run pays for first imports."""
    for _ in range(8):
        for path in [*PUBLIC_PAGES, *API_READS, FORM, STATIC]:
            with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310
                response.read()


def idle_static_ms(base: str, repeat: int = 200) -> float:
    """Median of sequential GETs of the static file on the idle server."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with urllib.request.urlopen(base + STATIC, timeout=30) as response:  # noqa: S310
            response.read()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def read_stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def run_locust(base: str, users: int, run_time: int, out: Path, env: dict[str, str]) -> dict:
    prefix = out / f"users-{users}"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).resolve()),
        "--headless",
        "--host",
        base,
        "-u",
        str(users),
        "-r",
        str(users),
        "--run-time",
        f"{run_time}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    # Bounded: locust stops itself after --run-time; the timeout is a backstop.
    subprocess.run(command, env=env, check=False, timeout=run_time + 120, stdout=subprocess.DEVNULL)
    stats = read_stats(prefix)
    result: dict = {}
    for kind in KINDS:
        row = stats.get(kind)
        if row is None:
            result[kind] = None
            continue
        result[kind] = {
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
            "requests_per_s": round(float(row["Requests/s"]), 1),
        }
    total = stats["Aggregated"]
    result["total_requests"] = int(total["Request Count"])
    result["total_errors"] = int(total["Failure Count"])
    result["total_requests_per_s"] = round(float(total["Requests/s"]), 1)
    return result


def figures(users: int, stats: dict, context: dict) -> dict:
    static = stats.get("static") or {}
    reference = static.get("p50_ms") or None
    record: dict = {**context, "users": users}
    for kind in KINDS:
        record[kind] = stats[kind]
        if stats[kind] is not None and reference:
            stats[kind]["ratio_p50_to_reference"] = round(stats[kind]["p50_ms"] / reference, 1)
    record["reference"] = f"p50 of GET {STATIC} in the same mix"
    record["reference_ms"] = reference
    record["total_requests"] = stats["total_requests"]
    record["total_errors"] = stats["total_errors"]
    record["total_requests_per_s"] = stats["total_requests_per_s"]
    public = stats.get("public") or {}
    record["meets_targets"] = (
        bool(public) and public["p95_ms"] < 200 and stats["total_errors"] == 0
        if users == 50
        else None
    )
    return record


def run(args: argparse.Namespace, env: dict[str, str], database: str) -> None:
    receipts = [sys.executable, "-m", "receipts"]
    log(f"loading the demo into {database} ...")
    subprocess.run([*receipts, "demo", "--no-serve"], env=env, check=True, stdout=sys.stderr)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [*receipts, "serve", "--port", str(port)]
    serve += ["--workers", str(args.workers), "--threads", str(args.threads)]
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ready(base, server)
        warm_up(base)
        idle_ms = idle_static_ms(base)
        context = {
            "database": database,
            "server": f"receipts serve (gunicorn gthread) --workers {args.workers} "
            f"--threads {args.threads}",
            "cpus": os.cpu_count(),
            "page_cache": env["RECEIPTS_PAGE_CACHE"] == "1",
            "static_idle_p50_ms": idle_ms,
            "run_time_s": args.run_time,
            "wait_s": [args.wait_min, args.wait_max],
            "task_weights": {
                "public": 16,
                "api": 4,
                "sign_up (form_get + form_post)": 1,
                "static": 1,
            },
            "guards_relaxed": {
                "RECEIPTS_OUTREACH_MIN_FILL_SECONDS": env["RECEIPTS_OUTREACH_MIN_FILL_SECONDS"],
                "RECEIPTS_OUTREACH_RATE_PER_MINUTE": env["RECEIPTS_OUTREACH_RATE_PER_MINUTE"],
                "RECEIPTS_OUTREACH_RATE_PER_DAY": env["RECEIPTS_OUTREACH_RATE_PER_DAY"],
                "why": "all load comes from 127.0.0.1, one client for the per-client guards",
            },
        }
        with tempfile.TemporaryDirectory(prefix="receipts-load-csv-") as out:
            for users in args.users:
                log(f"{database}: {users} users for {args.run_time} s ...")
                stats = run_locust(base, users, args.run_time, Path(out), env)
                print(json.dumps(figures(users, stats, context)), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL"), help="a server; needs CREATEDB"
    )
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite database")
    parser.add_argument(
        "--users",
        default="10,50,200",
        type=lambda s: [int(x) for x in s.split(",")],
        help="user counts, comma-separated",
    )
    parser.add_argument("--run-time", type=int, default=30, help="seconds per user count")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wait-min", type=float, default=0.5, help="seconds between tasks")
    parser.add_argument("--wait-max", type=float, default=1.5)
    parser.add_argument(
        "--no-page-cache",
        action="store_true",
        help="serve with the public page cache off (RECEIPTS_PAGE_CACHE=0)",
    )
    args = parser.parse_args()
    if not args.sqlite and not args.postgres:
        parser.error("give --postgres URL (or DATABASE_URL), or --sqlite")

    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env |= {
        "PYTHONPATH": str(ROOT / "src"),
        # The guards count per client and every request here comes from one
        # address: the load run relaxes them (the output says so).
        "RECEIPTS_OUTREACH_MIN_FILL_SECONDS": "0",
        "RECEIPTS_OUTREACH_RATE_PER_MINUTE": "1000000",
        "RECEIPTS_OUTREACH_RATE_PER_DAY": "1000000",
        "RECEIPTS_DEBUG": "",
        "RECEIPTS_PAGE_CACHE": "0" if args.no_page_cache else "1",
        "LOAD_WAIT_MIN": str(args.wait_min),
        "LOAD_WAIT_MAX": str(args.wait_max),
    }

    with tempfile.TemporaryDirectory(prefix="receipts-load-") as tmp:
        env = {**base_env, "RECEIPTS_DATA_DIR": tmp}
        if args.sqlite:
            run(args, env, "sqlite")
        else:
            with scratch_database(args.postgres, prefix="receipts_load") as url:
                run(args, {**env, "DATABASE_URL": url}, "postgresql")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
