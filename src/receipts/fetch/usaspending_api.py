"""A client for USAspending's bulk download API: ask for a contract download, wait for
it, and download the zip, resuming a cut transfer.

The contract is USAspending's own API Blueprint (``POST
/api/v2/bulk_download/awards/``, ``GET /api/v2/bulk_download/status``).
Every request goes through ``receipts.outbound`` (public addresses only),
identifies the tool in its User-Agent, and is retried with a growing pause on
a 5xx reply, a timeout or a dropped connection; a 4xx reply or a failed job
stops at once with what the server said.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from django.conf import settings

from receipts import outbound

USER_AGENT = "Receipts/0.1 (USAspending fetcher; +https://github.com/receipts)"

AWARDS_PATH = "/api/v2/bulk_download/awards/"
STATUS_PATH = "/api/v2/bulk_download/status"

# Contract award types (definitive contracts, purchase orders, delivery orders, BPA calls)
# and the indefinite-delivery vehicles they are ordered under: both come out as
# Contracts_PrimeTransactions files, the kind the importer reads.
CONTRACT_AWARD_TYPES = (
    "A",
    "B",
    "C",
    "D",
    "IDV_A",
    "IDV_B",
    "IDV_B_A",
    "IDV_B_B",
    "IDV_B_C",
    "IDV_C",
    "IDV_D",
    "IDV_E",
)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_CHUNK = 1 << 16


class FetchError(Exception):
    """The fetch cannot go on; the message says what the server or network did."""

    exit_code = 1


class JobFailed(FetchError):
    """The server reports the download job failed; the message is the server's."""


class JobTimedOut(FetchError):
    """The job was still not finished when the time allowed ran out."""


class _Retry(Exception):
    """A reply or failure worth another try (5xx, timeout, dropped connection)."""


@dataclass(frozen=True)
class ApiAgency:
    """An awarding agency as the API's filter names it."""

    code: str
    name: str
    tier: str  # "toptier" or "subtier"
    toptier_name: str = ""

    def as_filter(self) -> dict[str, str]:
        found = {"type": "awarding", "tier": self.tier, "name": self.name}
        if self.toptier_name:
            found["toptier_name"] = self.toptier_name
        return found


def _api_name(name: str, toptier: bool) -> str:
    # USAspending names departments without "U.S." ("Department of Homeland Security")
    # and keeps it on sub-agencies ("U.S. Immigration and Customs Enforcement").
    return name.removeprefix("U.S. ") if toptier and name.startswith("U.S. Department") else name


def resolve_agency(text: str) -> ApiAgency:
    """An agency by code (7012), abbreviation (ICE) or name, as the importer knows them.

    Codes the importer knows by name come first; then agencies stored with an
    agency code. Raises FetchError naming the agencies known when none matches.
    """
    from receipts.ingest.usaspending.formats import KNOWN_AGENCIES

    wanted = " ".join(text.replace(".", "").lower().split())
    for known in KNOWN_AGENCIES.values():
        names = [known.code, known.name, *known.aliases]
        if any(" ".join(n.replace(".", "").lower().split()) == wanted for n in names):
            if known.parent:
                parent = KNOWN_AGENCIES[known.parent]
                return ApiAgency(
                    known.code, known.name, "subtier", _api_name(parent.name, toptier=True)
                )
            return ApiAgency(known.code, _api_name(known.name, toptier=True), "toptier")
    stored = _stored_agency(text)
    if stored is not None:
        return stored
    listed = ", ".join(
        f"{a.name} ({'/'.join([*a.aliases[:1], a.code])})" for a in KNOWN_AGENCIES.values()
    )
    raise FetchError(f"agency {text!r} is not known by name, abbreviation or code; known: {listed}")


def _stored_agency(text: str) -> ApiAgency | None:
    """An agency entity an import stored with its code, found by code or name."""
    from django.db.models import Q

    from receipts.evidence.models import Entity, Identifier, IdentifierScheme, Tie, TieKind

    ident = (
        Identifier.objects.filter(scheme=IdentifierScheme.AGENCY_CODE)
        .filter(Q(value__iexact=text.strip()) | Q(entity__name__iexact=text.strip()))
        .select_related("entity")
        .first()
    )
    if ident is None:
        return None
    if len(ident.value) == 3:
        return ApiAgency(ident.value, _api_name(ident.entity.name, toptier=True), "toptier")
    parent = Entity.objects.filter(
        pk__in=Tie.objects.filter(subject=ident.entity, kind=TieKind.PART_OF).values("object_id")
    ).first()
    toptier = _api_name(parent.name, toptier=True) if parent is not None else ""
    return ApiAgency(ident.value, ident.entity.name, "subtier", toptier)


@dataclass(frozen=True)
class Job:
    """A download job the server accepted."""

    file_name: str
    status_url: str
    file_url: str


@dataclass
class Status:
    """One reply of the status endpoint."""

    status: str
    message: str | None = None
    file_url: str = ""
    total_rows: int | None = None
    total_size_kb: float | None = None
    seconds_elapsed: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def contract_filters(
    agency: ApiAgency, start: dt.date, end: dt.date, date_type: str = "action_date"
) -> dict[str, Any]:
    """The request body of a contract download for one agency and date range."""
    return {
        "filters": {
            "prime_award_types": list(CONTRACT_AWARD_TYPES),
            "date_type": date_type,
            "date_range": {"start_date": start.isoformat(), "end_date": end.isoformat()},
            "agencies": [agency.as_filter()],
        },
        "file_format": "csv",
    }


def _safe_file_name(name: str) -> str:
    """The server's file name, used as a local file name only when it is a plain one."""
    base = name.rsplit("/", 1)[-1]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.zip", base):
        raise FetchError(f"the server named the download {name!r}, which is not a zip file name")
    return base


class UsaspendingApi:
    """Requests to one USAspending API base URL, with retries and progress callbacks."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        poll_seconds: float | None = None,
        job_timeout: float | None = None,
        retries: int | None = None,
        backoff_seconds: float | None = None,
        request_timeout: float | None = None,
        on_status: Callable[[Status], None] | None = None,
        on_bytes: Callable[[int, int | None], None] | None = None,
        on_retry: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.USASPENDING_API).rstrip("/")
        self.poll_seconds = (
            settings.USASPENDING_POLL_SECONDS if poll_seconds is None else poll_seconds
        )
        self.job_timeout = settings.USASPENDING_JOB_TIMEOUT if job_timeout is None else job_timeout
        self.retries = settings.USASPENDING_RETRIES if retries is None else retries
        self.backoff_seconds = (
            settings.USASPENDING_BACKOFF_SECONDS if backoff_seconds is None else backoff_seconds
        )
        self.request_timeout = (
            settings.USASPENDING_TIMEOUT if request_timeout is None else request_timeout
        )
        self.on_status = on_status or (lambda status: None)
        self.on_bytes = on_bytes or (lambda done, total: None)
        self.on_retry = on_retry or (lambda why, pause: None)
        self.sleep = sleep

    # --- requests ------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, "Accept": "application/json", **(extra or {})}

    def _with_retries(self, what: str, attempt_once: Callable[[], Any]) -> Any:
        """Run ``attempt_once`` until it succeeds, retrying _Retry with a doubling pause."""
        tries = 0
        while True:
            try:
                return attempt_once()
            except _Retry as exc:
                tries += 1
                if tries > self.retries:
                    raise FetchError(f"{what}: {exc} (gave up after {tries} attempts)") from exc
                pause = self.backoff_seconds * 2 ** (tries - 1)
                self.on_retry(f"{what}: {exc}", pause)
                self.sleep(pause)

    def _json(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = self._headers({"Content-Type": "application/json"} if data else None)

        def once() -> dict[str, Any]:
            try:
                reply = outbound.request(
                    method,
                    url,
                    body=data,
                    headers=headers,
                    timeout=self.request_timeout,
                    max_response_bytes=4 * 1024 * 1024,
                )
            except outbound.Refused as exc:
                raise FetchError(f"{url}: {exc}") from exc
            except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                raise _Retry(_network_problem(exc)) from exc
            except OSError as exc:
                raise FetchError(f"{url}: {exc.strerror or exc}") from exc
            if reply.status in _RETRY_STATUS:
                raise _Retry(f"HTTP {reply.status}")
            try:
                found = json.loads(reply.body or b"{}")
            except ValueError:
                found = None
            if reply.status >= 400:
                said = (
                    found.get("detail") or found.get("message") if isinstance(found, dict) else None
                )
                raise FetchError(
                    f"{method} {url}: HTTP {reply.status}" + (f": {said}" if said else "")
                )
            if not isinstance(found, dict):
                raise FetchError(f"{method} {url}: the reply is not a JSON object")
            return found

        return self._with_retries(f"{method} {url}", once)

    # --- the job ---------------------------------------------------------------------

    def start(self, body: dict[str, Any]) -> Job:
        """Ask for a download; the server answers at once with where to poll and fetch it."""
        found = self._json("POST", self.base_url + AWARDS_PATH, body)
        name = found.get("file_name")
        if not isinstance(name, str) or not name:
            raise FetchError(f"POST {AWARDS_PATH}: the reply names no file_name")
        status_url = self.base_url + STATUS_PATH + "?file_name=" + quote(name)
        return Job(name, status_url, str(found.get("file_url") or ""))

    def status(self, job: Job) -> Status:
        found = self._json("GET", job.status_url)
        state = found.get("status")
        if state not in ("ready", "running", "finished", "failed"):
            raise FetchError(f"the status of {job.file_name} is {state!r}, not one the API defines")
        return Status(
            status=state,
            message=found.get("message"),
            file_url=str(found.get("file_url") or ""),
            total_rows=found.get("total_rows"),
            total_size_kb=found.get("total_size"),
            seconds_elapsed=found.get("seconds_elapsed"),
            raw=found,
        )

    def wait(self, job: Job) -> Status:
        """Poll until the job is finished; JobFailed with the server's message, or
        JobTimedOut past ``job_timeout`` seconds."""
        deadline = time.monotonic() + self.job_timeout
        while True:
            state = self.status(job)
            self.on_status(state)
            if state.status == "finished":
                return state
            if state.status == "failed":
                raise JobFailed(
                    f"USAspending could not make {job.file_name}: "
                    f"{state.message or 'the server gave no reason'}"
                )
            if time.monotonic() + self.poll_seconds > deadline:
                raise JobTimedOut(
                    f"{job.file_name} was still {state.status!r} after {self.job_timeout:g} s; "
                    "USAspending may be busy: try again later"
                )
            self.sleep(self.poll_seconds)

    def file_url(self, job: Job, state: Status) -> str:
        """Where the finished zip is: the status's file_url, relative to the API if it is a path."""
        url = state.file_url or job.file_url
        if not url:
            raise FetchError(f"{job.file_name} is finished but the server gives no file_url")
        return urljoin(self.base_url + "/", url)

    # --- the download ----------------------------------------------------------------

    def download(self, url: str, folder: Path, file_name: str) -> Path:
        """Download ``url`` into ``folder``/``file_name``, resuming from what a cut transfer left.

        The bytes go to a ``.part`` file first, renamed only once whole; a
        transfer cut short is picked up where it stopped with a Range request.
        """
        target = folder / _safe_file_name(file_name)
        part = target.with_name(target.name + ".part")
        what = f"GET {url}"
        tries = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            try:
                if self._download_once(url, part, have):
                    break
            except _Retry as exc:
                now = part.stat().st_size if part.exists() else 0
                # Bytes that arrived prove the server is up: only attempts that got
                # nothing count towards giving up.
                tries = 0 if now > have else tries + 1
                if tries > self.retries:
                    raise FetchError(f"{what}: {exc} (gave up after {tries} attempts)") from exc
                pause = self.backoff_seconds * 2 ** max(tries - 1, 0)
                self.on_retry(f"{what}: {exc}; resuming at byte {now}", pause)
                self.sleep(pause)
        part.replace(target)
        return target

    def _download_once(self, url: str, part: Path, have: int) -> bool:
        """One request for the rest of the file; True once it is whole."""
        headers = self._headers({"Accept": "*/*"})
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with outbound.stream(
                "GET", url, headers=headers, timeout=self.request_timeout
            ) as reply:
                if reply.status in _RETRY_STATUS:
                    raise _Retry(f"HTTP {reply.status}")
                if reply.status == 416 and have:
                    return True  # nothing left after what is here
                if reply.status == 206:
                    start, total = _content_range(reply.getheader("Content-Range") or "")
                    if start != have:
                        raise FetchError(
                            f"GET {url}: asked for bytes from {have}, the server sent from {start}"
                        )
                elif reply.status == 200:
                    have = 0  # the server sends the whole file again
                    length = reply.getheader("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                else:
                    raise FetchError(f"GET {url}: HTTP {reply.status}")
                with part.open("ab" if have else "wb") as out:
                    self.on_bytes(have, total)
                    while chunk := reply.read(_CHUNK):
                        out.write(chunk)
                        have += len(chunk)
                        self.on_bytes(have, total)
                if total is not None and have < total:
                    raise _Retry(f"the connection closed at byte {have} of {total}")
                return True
        except outbound.Refused as exc:
            raise FetchError(f"{url}: {exc}") from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise _Retry(_network_problem(exc)) from exc


def _content_range(value: str) -> tuple[int, int | None]:
    found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", value.strip())
    if not found:
        raise FetchError(f"the server answered a Range request with Content-Range {value!r}")
    total = None if found[3] == "*" else int(found[3])
    return int(found[1]), total


def _network_problem(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed after {len(exc.partial)} more bytes"
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
