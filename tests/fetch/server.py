"""A local HTTP server that speaks USAspending's bulk download contract, serving given zips.

It checks each ``POST /api/v2/bulk_download/awards/`` body against the
contract's Filters (400 with a ``detail`` otherwise), answers the status
endpoint as the contract defines it, and serves the zip with Range requests.
Each accepted job plays the next ``Job`` script: how many polls answer
``running``, whether it ends ``finished``, ``failed`` (with a message) or never,
how many 503 replies come first, where the first transfer is cut, whether the
zip is served cut short.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

AWARD_TYPES = {
    "IDV_A", "IDV_B", "IDV_B_A", "IDV_B_B", "IDV_B_C", "IDV_C", "IDV_D", "IDV_E",
    "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "A", "B", "C", "D", "-1",
}  # fmt: skip


@dataclass
class Job:
    """What one download job does."""

    zip_path: Path
    running_polls: int = 1
    final: str = "finished"  # "finished", "failed" or "running" (never finishes)
    message: str = ""
    post_503s: int = 0  # 503 replies to the POST before it is accepted
    status_503s: int = 0  # 503 replies to the first status requests
    drop_after: int | None = None  # the first file transfer closes after this many bytes
    cut_to: int | None = None  # the zip is served cut to this many bytes
    file_name: str = ""
    polls: int = 0
    transfers: int = 0

    def rows(self) -> int:
        import zipfile

        with zipfile.ZipFile(self.zip_path) as z:
            return sum(sum(1 for _ in z.open(n)) - 1 for n in z.namelist())

    def body(self) -> bytes:
        data = self.zip_path.read_bytes()
        return data[: self.cut_to] if self.cut_to is not None else data


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakeUsaspending:
    url: str = ""
    jobs: list[Job] = field(default_factory=list)
    started: dict[str, Job] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def add(self, zip_path: Path, **kwargs: Any) -> Job:
        job = Job(zip_path, **kwargs)
        self.jobs.append(job)
        return job

    def posts(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.method == "POST" and isinstance(r.body, dict)]


def _contract_problem(body: Any) -> str | None:
    """Why a POST body breaks the contract's Filters (None when it keeps to it)."""
    if not isinstance(body, dict) or not isinstance(body.get("filters"), dict):
        return "filters: required"
    f = body["filters"]
    agencies = f.get("agencies")
    if not isinstance(agencies, list) or not agencies:
        return "filters.agencies: required"
    for a in agencies:
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            return "filters.agencies[].name: required"
        if a.get("tier") not in ("toptier", "subtier") or a.get("type") not in (
            "funding",
            "awarding",
        ):
            return "filters.agencies[]: tier and type must be members of their enums"
    if f.get("date_type") not in ("action_date", "last_modified_date"):
        return "filters.date_type: must be action_date or last_modified_date"
    dr = f.get("date_range")
    if not isinstance(dr, dict) or not all(
        isinstance(dr.get(k), str) and re.fullmatch(r"\d{4}-\d\d-\d\d", dr[k])
        for k in ("start_date", "end_date")
    ):
        return "filters.date_range: start_date and end_date required (YYYY-MM-DD)"
    types = f.get("prime_award_types", [])
    if not isinstance(types, list) or not set(types) <= AWARD_TYPES:
        return "filters.prime_award_types: unknown award type"
    if body.get("file_format", "csv") not in ("csv", "tsv", "pstxt"):
        return "file_format: unknown"
    return None


def serve() -> Iterator[FakeUsaspending]:
    state = FakeUsaspending()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body: Any = None) -> None:
            with lock:
                state.requests.append(
                    Request(self.command, self.path, dict(self.headers.items()), body)
                )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            self._record(body)
            if urlsplit(self.path).path != "/api/v2/bulk_download/awards/":
                return self._json(404, {"detail": "Not found."})
            problem = _contract_problem(body)
            if problem:
                return self._json(400, {"detail": problem})
            with lock:
                job = next((j for j in state.jobs if not j.file_name), None)
                if job is None:
                    return self._json(500, {"detail": "no job scripted"})
                if job.post_503s:
                    job.post_503s -= 1
                    return self._json(503, {"detail": "Service Unavailable"})
                job.file_name = (
                    f"All_PrimeTransactions_2026-12-08_H01M{len(state.started):02d}S00.zip"
                )
                state.started[job.file_name] = job
            self._json(
                200,
                {
                    "status_url": f"{state.url}/api/v2/download/status?file_name={job.file_name}",
                    "file_name": job.file_name,
                    "file_url": f"{state.url}/generated_downloads/{job.file_name}",
                    "download_request": {**body, "request_type": "award"},
                },
            )

        def do_GET(self) -> None:
            self._record()
            parts = urlsplit(self.path)
            if parts.path == "/api/v2/bulk_download/status":
                name = parse_qs(parts.query).get("file_name", [""])[0]
                job = state.started.get(name)
                if job is None:
                    return self._json(400, {"detail": f"Download {name} not found"})
                if job.status_503s:
                    job.status_503s -= 1
                    return self._json(503, {"detail": "Service Unavailable"})
                job.polls += 1
                done = job.polls > job.running_polls and job.final != "running"
                status = job.final if done else "running"
                size = len(job.body())
                return self._json(
                    200,
                    {
                        "status": status,
                        "message": job.message if status == "failed" else None,
                        "file_name": name,
                        # A path, as in the contract's example: relative to the API.
                        "file_url": f"/generated_downloads/{name}",
                        "total_size": size / 1024 if status == "finished" else None,
                        "total_columns": 297 if status == "finished" else None,
                        "total_rows": job.rows() if status == "finished" else None,
                        "seconds_elapsed": f"{job.polls * 0.5:.6f}",
                    },
                )
            if parts.path.startswith("/generated_downloads/"):
                job = state.started.get(parts.path.rsplit("/", 1)[-1])
                if job is None:
                    return self._json(404, {"detail": "Not found."})
                return self._file(job)
            self._json(404, {"detail": "Not found."})

        def _file(self, job: Job) -> None:
            data = job.body()
            start = 0
            found = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if found:
                start = int(found[1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            job.transfers += 1
            if job.drop_after is not None and job.transfers == 1:
                self.wfile.write(data[start : start + job.drop_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data[start:])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
