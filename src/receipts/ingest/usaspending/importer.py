"""``receipts import usaspending``: contract downloads in, cited ties out.

Order of work, each step safe to repeat: read and check every file in a
DuckDB staging database (a file that cannot be read stops the run before
anything is stored); resolve agencies and recipients; store transactions and
awards in batches under their natural keys; recompute the ties of every
(recipient, sub-agency) pair the files touched from all stored records. A run
killed at any point leaves whole batches stored, and running it again
completes it without duplicates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from receipts import spreadsheet
from receipts.contracts.models import ContractAward, ContractTransaction, DeletedContractRecord
from receipts.evidence import bulk, services
from receipts.evidence.models import Source, SourceKind, Tie, TieKind
from receipts.ingest.import_lock import import_lock
from receipts.ingest.models import ImportRun
from receipts.ingest.resolution import (
    RecipientRecord,
    RecipientResolver,
    name_key,
    names_itself,
)
from receipts.ingest.signals import awards_stored
from receipts.private_files import open_private, private_dir
from receipts.watch.models import ChangeEvent

from . import store
from .agencies import AgencyPath, AgencyResolver
from .dates import day_order
from .files import CsvInput, InputError, Skipped, collect_inputs
from .formats import PERMALINK, PUBLISHER
from .stage import Stage
from .ties import (
    CONTRACT_PREFIX,
    TieCounts,
    award_source_id,
    recompute_contract_ties,
    record_reported_parents,
)

Progress = Callable[[str, int, int | None], None]

# SQLite page cache during an import, in KiB (the default is 2 MiB).
SQLITE_IMPORT_CACHE_KB = 98_304


@dataclass
class FileSummary:
    name: str
    kind: str
    rows: int = 0
    rejected: int = 0
    warning: str = ""
    # Each column read, in the header's order: {"column": name, "not_usable": how many
    # of its values could not be used (each rejects its row)}.
    columns: list[dict[str, Any]] = field(default_factory=list)

    def columns_line(self) -> str:
        return f"{self.name}: columns read, with the values not usable: " + ", ".join(
            f"{c['column']} {c['not_usable']}" for c in self.columns
        )


class AllRowsRejected(InputError):
    """Every row of a file was rejected: nothing is stored, the report lists them all."""

    exit_code = 65  # EX_DATAERR: the input data was incorrect

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class ImportSummary:
    files: list[FileSummary] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    transactions: store.UpsertCounts = field(default_factory=store.UpsertCounts)
    awards: store.UpsertCounts = field(default_factory=store.UpsertCounts)
    rows_read: int = 0
    rejected: int = 0
    # Rows whose key another row of the files also had (overlapping downloads): one kept.
    repeated: int = 0
    entities_created: int = 0
    entities_linked: int = 0
    queued_for_review: int = 0
    agencies_created: int = 0
    ties: TieCounts = field(default_factory=TieCounts)
    report_path: str = ""
    seconds: float = 0.0
    run_id: int | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def file_lines(self) -> list[str]:
        """What each file held and what was left out: the part of the summary that is
        known before anything is stored."""
        out = [f"{f.name}: {f.kind}, {f.rows} rows, {f.rejected} rejected" for f in self.files]
        out += [f.columns_line() for f in self.files if f.columns]
        out += [f"{f.name}: {f.warning}" for f in self.files if f.warning]
        out += [f"{s.display}: left out, {s.reason}" for s in self.skipped]
        return out

    def lines(self) -> list[str]:
        out = self.file_lines()
        t, a = self.transactions, self.awards
        rate = self.rows_read / self.seconds if self.seconds else 0
        out += [
            f"rows read {self.rows_read}, rejected {self.rejected}"
            + (
                f", {self.repeated} repeated in the files (the newest of each kept)"
                if self.repeated
                else ""
            )
            + f" ({rate:,.0f} rows/s)",
            f"transactions: {t.stored} stored, {t.updated} updated, {t.unchanged} unchanged, "
            f"{t.deleted} deleted" + _kept_deleted(t),
            f"awards: {a.stored} stored, {a.updated} updated, {a.unchanged} unchanged, "
            f"{a.deleted} deleted" + _kept_deleted(a),
            f"entities: {self.entities_created} created, {self.entities_linked} linked by identifier, "
            f"{self.queued_for_review} queued for review; {self.agencies_created} agencies created",
            f"ties: {self.ties.created} contract ties created, {self.ties.updated} updated, "
            f"{self.ties.unchanged} unchanged, {self.ties.removed} removed; ownership ties "
            f"{self.ties.ownership_created} created, {self.ties.ownership_updated} updated, "
            f"{self.ties.ownership_unchanged} unchanged, {self.ties.ownership_ended} ended, "
            f"{self.ties.ownership_removed} removed",
        ]
        if self.ties.problems:
            out.append(f"{len(self.ties.problems)} reported parents not recorded (see the report)")
        if self.report_path:
            out.append(f"rejected rows and problems: {self.report_path}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [vars(f) for f in self.files],
            "skipped": [vars(s) for s in self.skipped],
            "rows_read": self.rows_read,
            "rejected": self.rejected,
            "repeated": self.repeated,
            "transactions": vars(self.transactions),
            "awards": vars(self.awards),
            "entities_created": self.entities_created,
            "entities_linked": self.entities_linked,
            "queued_for_review": self.queued_for_review,
            "agencies_created": self.agencies_created,
            "ties_created": self.ties.created,
            "ties_updated": self.ties.updated,
            "ties_unchanged": self.ties.unchanged,
            "ties_removed": self.ties.removed,
            "ownership_ties": self.ties.ownership,
            "ownership_ties_created": self.ties.ownership_created,
            "ownership_ties_updated": self.ties.ownership_updated,
            "ownership_ties_unchanged": self.ties.ownership_unchanged,
            "ownership_ties_ended": self.ties.ownership_ended,
            "ownership_ties_removed": self.ties.ownership_removed,
            "report_path": self.report_path,
            "seconds": round(self.seconds, 3),
            "phase_seconds": self.phase_seconds,
        }


def _kept_deleted(counts: store.UpsertCounts) -> str:
    notes = []
    if counts.kept_deleted:
        notes.append(
            f"{counts.kept_deleted} left out (deleted by an earlier delta file, not modified since)"
        )
    if counts.with_deleted_award:
        notes.append(f"{counts.with_deleted_award} left out with their deleted award")
    if counts.marks_not_found:
        notes.append(f"{counts.marks_not_found} deletion marks for records not stored")
    return "".join(f", {n}" for n in notes)


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


def _run_source(inputs: Sequence[CsvInput], today: str) -> Source:
    names = [i.display.rsplit("/", 1)[-1] for i in inputs]
    digest = hashlib.sha256(
        "\n".join(f"{i.display}:{i.path.stat().st_size}" for i in inputs).encode()
    ).hexdigest()
    title = "USAspending contract data: " + ", ".join(names)
    return services.save_source(
        ftm_id=f"usaspending-download-{digest[:32]}",
        kind=SourceKind.GOVERNMENT_RECORD,
        title=title[:480],
        publisher=PUBLISHER,
        url="https://www.usaspending.gov/download_center/custom_award_data",
        retrieved=today,
    )


class ImportContext:
    """One run's bookkeeping, shared by every phase: its ``ImportRun`` record, the
    seconds of each phase from its first moment to the next phase's, and the
    progress it reports (the phase's name, rows done, rows in all)."""

    def __init__(self, summary: ImportSummary, progress: Progress) -> None:
        self.summary = summary
        self.run: ImportRun | None = None
        self.phase_name = ""
        self._report = progress
        self._phase_started = 0.0
        self._total: int | None = None

    def phase(self, name: str, total: int | None = None) -> None:
        """A phase starts now: the one before it ends."""
        now = time.perf_counter()
        self._close_phase(now)
        self.phase_name, self._phase_started, self._total = name, now, total
        self._report(name, 0, total)

    def advance(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self._total = total
        self._report(self.phase_name, done, self._total)

    def _close_phase(self, now: float) -> None:
        if self.phase_name:
            seconds = round(now - self._phase_started, 3)
            self.summary.phase_seconds[self.phase_name] = seconds

    def start_run(self) -> None:
        self.run = ImportRun.objects.create(
            importer="usaspending",
            files=[{"file": f.name, "kind": f.kind, "rows": f.rows} for f in self.summary.files],
        )
        self.summary.run_id = self.run.pk

    def failed(self, exc: BaseException) -> None:
        """Record where and why the run stopped, in the error and in its record."""
        if self.phase_name:
            exc.add_note(f"during the import step {self.phase_name!r}")
        if self.run is None:
            return
        # On a full disk or a lost connection this record may not be writable
        # either: the error that stopped the import is the one to report.
        with contextlib.suppress(DatabaseError):
            ImportRun.objects.filter(pk=self.run.pk).update(
                status=ImportRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )

    def done(self) -> None:
        self._close_phase(time.perf_counter())
        self.phase_name = ""
        self._report("done", 1, 1)

    def finish_run(self) -> None:
        assert self.run is not None
        ImportRun.objects.filter(pk=self.run.pk).update(
            status=ImportRun.Status.DONE,
            finished_at=timezone.now(),
            counts=self.summary.as_dict(),
            report_path=self.summary.report_path,
        )


def import_usaspending(
    paths: Sequence[Path],
    *,
    date_format: str | Sequence[str] | None = None,
    report_path: Path | None = None,
    batch_size: int = 50_000,
    progress: Progress = _no_progress,
) -> ImportSummary:
    """Import USAspending contract files; see the module docstring for the guarantees.

    ``date_format``: one or more strftime formats for dates that are not ISO,
    each value read by the first that gives a possible date. Raises
    ImportRunning, having stored nothing, while another import runs; InputError
    for a file that cannot be imported, and its subclass AllRowsRejected when
    every row of a file was rejected, in both cases having stored nothing.
    """
    with import_lock("usaspending"):
        return _import_usaspending(
            paths,
            date_format=date_format,
            report_path=report_path,
            batch_size=batch_size,
            progress=progress,
        )


def _import_usaspending(
    paths: Sequence[Path],
    *,
    date_format: str | Sequence[str] | None,
    report_path: Path | None,
    batch_size: int,
    progress: Progress,
) -> ImportSummary:
    started = time.perf_counter()
    summary = ImportSummary()
    ctx = ImportContext(summary, progress)
    today = dt.date.today().isoformat()
    with tempfile.TemporaryDirectory(prefix="receipts-usaspending-") as tmp:
        workdir = Path(tmp)
        inputs = collect_inputs(paths, workdir, summary.skipped)
        stage = Stage(workdir, date_format=date_format)
        try:
            _stage_files(ctx, stage, inputs, report_path)
            ctx.start_run()
            try:
                _store(ctx, stage, inputs, today, batch_size)
            except BaseException as exc:
                ctx.failed(exc)
                raise
            ctx.done()
            summary.seconds = time.perf_counter() - started
            rejects = stage.rejects()
            if rejects or summary.ties.problems:
                assert ctx.run is not None
                summary.report_path = str(
                    _write_report(report_path, ctx.run.pk, rejects, summary.ties.problems)
                )
            ctx.finish_run()
        finally:
            stage.close()
    return summary


def _stage_files(
    ctx: ImportContext, stage: Stage, inputs: Sequence[CsvInput], report_path: Path | None
) -> None:
    """Read and check every file into staging; nothing is stored yet."""
    summary = ctx.summary
    for n, inp in enumerate(inputs):
        ctx.phase(f"reading {inp.display.rsplit('/', 1)[-1]}", 100)
        found = stage.load(n, inp, on_progress=lambda pct: ctx.advance(int(pct)))
        summary.files.append(
            FileSummary(
                inp.display,
                inp.kind.label,
                found["read"],
                found["rejected"],
                _date_format_warning(stage, n, stage.dates.formats),
                found["columns"],
            )
        )
        summary.rows_read += found["read"]
        summary.rejected += found["rejected"]
    _refuse_files_wholly_rejected(stage, summary, report_path)
    ctx.phase("combining files")
    staged = stage.finish()
    summary.repeated = staged["repeated"]
    summary.transactions.with_deleted_award = staged["with_deleted_award"]


def _refuse_files_wholly_rejected(
    stage: Stage, summary: ImportSummary, report_path: Path | None
) -> None:
    """AllRowsRejected, before anything is stored, when every row of a file was rejected.

    Such a file is read wrongly as a whole (a wrong --date-format, a column
    damaged throughout): storing the other files would import the download in
    part. The report lists every rejected row.
    """
    wholly = [(n, f) for n, f in enumerate(summary.files) if f.rows and f.rejected == f.rows]
    if not wholly:
        return
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    summary.report_path = str(_write_report(report_path, f"refused-{stamp}", stage.rejects(), []))
    said = []
    for n, f in wholly:
        (row_no, reason) = stage.con.execute(
            "SELECT row_no, reason FROM rejects WHERE file_no = ? ORDER BY row_no LIMIT 1", [n]
        ).fetchone() or (0, "")
        bad = ", ".join(f"{c['column']} {c['not_usable']}" for c in f.columns if c["not_usable"])
        said.append(
            f"{f.name}: all {f.rows} rows rejected (the first: row {row_no}, {reason}; "
            f"values not usable: {bad})"
        )
    # One command line that reads every date column of these files, when their rows
    # tell: the formats suggested, and those given that do not read day and month
    # the other way round.
    suggested: list[str] = []
    for n, f in wholly:
        for column, fits in stage.suggested.get(n, {}).items():
            if any(c["column"] == column and c["not_usable"] for c in f.columns):
                suggested += [x for x in fits if x not in suggested]
    if suggested:
        orders = {day_order(x) for x in suggested}
        kept = [x for x in stage.dates.formats if day_order(x) in orders]
        said.append(
            "re-run with "
            + " ".join(f"--date-format '{x}'" for x in dict.fromkeys([*kept, *suggested]))
        )
    raise AllRowsRejected(
        "; ".join(said) + f"; nothing was imported; every rejected row: {summary.report_path}",
        summary,
    )


def _date_format_warning(stage: Stage, file_no: int, formats: Sequence[str]) -> str:
    """A warning when rows of a file do not match the --date-format given.

    A wrong format can still read some dates (3/4/2013 either way round), so
    when others fail the ones that passed may be wrong too.
    """
    if not formats:
        return ""
    given = " or ".join(formats)
    (misses,) = stage.con.execute(
        "SELECT count(*) FROM rejects WHERE file_no = ? AND reason LIKE '%not in the given --date-format%'",
        [file_no],
    ).fetchone()  # type: ignore[misc]
    if not misses:
        return ""
    return (
        f"WARNING: {misses} rows do not match --date-format {given}; if it is the wrong "
        "format for this file, the dates of the rows that matched may be read wrongly too. "
        "Re-running with the right format corrects them."
    )


def _write_report(
    path: Path | None,
    run_id: int | str,
    rejects: list[tuple[str, int, str, str]],
    problems: list[str],
) -> Path:
    if path is None:
        folder = private_dir(Path(settings.DATA_DIR) / "reports")
        path = folder / f"usaspending-run-{run_id}-rejected.csv"
    # Owner-only: a rejected row may quote a record's text.
    with open_private(path, "w", newline="", encoding="utf-8") as handle:
        writer = spreadsheet.writer(handle)
        writer.writerow(["file", "row", "column", "reason"])
        writer.writerows(rejects)
        for problem in problems:
            writer.writerow(["", "", "recipient_parent", problem])
    return path


def _award_pairs(award_keys: Sequence[str]) -> set[tuple[int, int]]:
    """The (recipient, sub-agency) pair of each of these stored awards that has both."""
    return {
        (recipient_id, sub_id)
        for recipient_id, sub_id in bulk.select_in(
            ContractAward, ["recipient_id", "sub_agency_id"], "award_key", award_keys
        )
        if recipient_id is not None and sub_id is not None
    }


def _refresh_planner_statistics(tables: Sequence[str]) -> None:
    """ANALYZE tables an import just filled, on PostgreSQL.

    The next phases look rows up by key in tables that grew from nothing to a
    million rows within minutes, before autovacuum has sampled them: with the
    statistics of an empty table the planner scans instead of using the index,
    once per batch of keys. SQLite plans with its indexes without statistics.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {store.quote_name(table)}")


class StagedAward(NamedTuple):
    """An award as this import's rows describe it (``_AWARD_SQL``)."""

    award_key: str
    piid: str
    parent_piid: str
    agency_code: str
    agency_name: str
    sub_code: str
    sub_name: str
    office_code: str
    office_name: str
    uei: str
    duns: str
    name: str
    cage: str
    description: str
    summary_cents: int | None
    base_date: str | None
    latest_date: str | None
    permalink: str
    last_modified: str
    # The date of its latest action among this import's rows (or its summary's dates).
    last_action: str
    parent_uei: str
    parent_duns: str
    parent_name: str
    # Its first and latest action among this import's transactions, and their versions.
    first_key: str | None
    first_version: str | None
    latest_key: str | None
    latest_version: str | None
    # Its period of performance: current and potential end dates ('' when not read).
    current_end: str
    potential_end: str

    @property
    def recipient(self) -> RecipientRecord:
        return RecipientRecord(uei=self.uei, duns=self.duns, name=self.name, cage=self.cage)

    @property
    def built_from_transactions(self) -> bool:
        """Its record comes from transactions alone (no summary row read for it)."""
        return self.summary_cents is None and bool(self.first_key)


_TX_SQL = """
    SELECT transaction_key, award_key, modification_number, action_date, fiscal_year,
           obligation_cents, recipient_id,
           coalesce(uei, ''), coalesce(duns, ''), coalesce(name, ''), coalesce(parent_uei, ''),
           coalesce(parent_duns, ''), coalesce(parent_name, ''),
           coalesce(delete_mark, '') = 'C', last_modified,
           coalesce(delete_mark, '') = 'D'
    FROM tx_resolved ORDER BY transaction_key
"""

_AWARD_SQL = f"""
    SELECT a.award_key, coalesce(a.piid, ''), coalesce(a.parent_piid, ''), a.agency_code, a.agency_name,
           a.sub_code, a.sub_name, coalesce(a.office_code, ''), coalesce(a.office_name, ''),
           coalesce(a.uei, ''), coalesce(a.duns, ''), coalesce(a.name, ''), coalesce(a.cage, ''),
           coalesce(a.description, ''), a.summary_cents, a.base_date, a.latest_date,
           coalesce(a.permalink, ''), a.last_modified, coalesce(t.last_action, a.latest_date, a.base_date, ''),
           coalesce(p.parent_uei, ''), coalesce(p.parent_duns, ''), coalesce(p.parent_name, ''),
           m.first_key, m.first_version, m.latest_key, m.latest_version,
           coalesce(a.current_end, ''), coalesce(a.potential_end, '')
    FROM award_final a
    LEFT JOIN (SELECT award_key,
                      arg_min(transaction_key, {store.FIRST_ACTION_SQL}) AS first_key,
                      arg_min(coalesce(last_modified, ''), {store.FIRST_ACTION_SQL}) AS first_version,
                      arg_max(transaction_key, {store.LATEST_ACTION_SQL}) AS latest_key,
                      arg_max(coalesce(last_modified, ''), {store.LATEST_ACTION_SQL}) AS latest_version
               FROM tx_store WHERE coalesce(delete_mark, '') <> 'D' GROUP BY award_key) m
      ON m.award_key = a.award_key
    LEFT JOIN (SELECT award_key, max(action_date) AS last_action FROM tx_store
               WHERE coalesce(delete_mark, '') <> 'D' GROUP BY award_key) t
      ON t.award_key = a.award_key
    LEFT JOIN (
        SELECT award_key, parent_uei, parent_duns, parent_name FROM (
            SELECT award_key, parent_uei, parent_duns, parent_name,
                   -- Rows of one date and file are told apart by what they say, so the
                   -- same rows give the same parent whatever order they are read in.
                   row_number() OVER (PARTITION BY award_key ORDER BY last_modified DESC, file_no DESC,
                       parent_uei NULLS LAST, parent_duns NULLS LAST, parent_name NULLS LAST) AS rn
            FROM (SELECT award_key, parent_uei, parent_duns, parent_name, last_modified, file_no FROM aw_kept
                  UNION ALL
                  SELECT award_key, parent_uei, parent_duns, parent_name, last_modified, file_no FROM tx_store
                  WHERE coalesce(delete_mark, '') <> 'D'))
        WHERE rn = 1) p ON p.award_key = a.award_key
    ORDER BY a.award_key
"""


@dataclass
class Stored:
    """What the phases learn as they go and later phases need."""

    run_source: Source
    sub_of: dict[tuple[str, str], int] = field(default_factory=dict)  # (agency, sub code) -> id
    sub_name: dict[int, str] = field(default_factory=dict)
    resolver: RecipientResolver = field(default_factory=RecipientResolver)
    recipients: dict[RecipientRecord, Any] = field(default_factory=dict)
    has_deletions: bool = False
    # (recipient, sub-agency) pairs whose contract ties are recomputed.
    pairs: set[tuple[int, int]] = field(default_factory=set)
    # Awards whose stored transactions were deleted by key: their pairs are recomputed.
    deleted_awards: set[str] = field(default_factory=set)
    # Recipients whose stored transactions were replaced or deleted: their ties are recomputed.
    touched: set[int | None] = field(default_factory=set)


def _store(
    ctx: ImportContext, stage: Stage, inputs: Sequence[CsvInput], today: str, batch_size: int
) -> None:
    """The phases that write, in order: each leaves whole batches stored if stopped."""
    done = Stored(run_source=_run_source(inputs, today))
    # Agencies and recipients first: award rows refer to their entities.
    _agencies(ctx, stage, done)
    _recipients(ctx, stage, done)
    if connection.vendor == "sqlite":
        # A bigger page cache keeps the key indexes in memory while a million rows
        # go in; it lasts for this connection only.
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KB}")
    # Only then are rows checked against deletions made by earlier delta files.
    done.has_deletions = DeletedContractRecord.objects.exists()
    _transactions(ctx, stage, done, batch_size)
    _deletions(ctx, stage, done)
    _refresh_planner_statistics([store.TX_TABLE])
    _awards(ctx, stage, done, today, batch_size)
    _pairs(ctx, stage, done)
    _ownership(ctx, done)


def _agencies(ctx: ImportContext, stage: Stage, done: Stored) -> None:
    """Every agency, sub-agency and office the rows name, as entities."""
    agencies = AgencyResolver(done.run_source)
    # Every office any row names, not only the one of each award's latest action: which
    # offices exist must not depend on which files came in the same run.
    paths = [
        AgencyPath(*row)
        for row in stage.con.execute(
            "SELECT DISTINCT agency_code, agency_name, sub_code, sub_name, coalesce(office_code, ''), "
            "coalesce(office_name, '') FROM (SELECT agency_code, agency_name, sub_code, sub_name, "
            "office_code, office_name FROM award_final UNION ALL SELECT agency_code, agency_name, "
            "sub_code, sub_name, office_code, office_name FROM tx_store "
            "WHERE coalesce(delete_mark, '') <> 'D') ORDER BY 1, 3, 5, 2, 4, 6"
        ).fetchall()
    ]
    ctx.phase("agencies", len(paths))
    for i, path in enumerate(paths):
        ctx.advance(i)
        with transaction.atomic():
            sub, _office = agencies.resolve(path)
        done.sub_of[(path.agency_code, path.sub_code)] = sub.pk
        done.sub_name[sub.pk] = sub.name
    ctx.summary.agencies_created = agencies.created


def _recipients(ctx: ImportContext, stage: Stage, done: Stored) -> None:
    """Every recipient and reported parent, resolved to entities in one pass."""
    ctx.phase("resolving recipients")
    records = {
        RecipientRecord(uei=u or "", duns=d or "", name=n or "", cage=c or "")
        for u, d, n, c in stage.con.execute(
            "SELECT DISTINCT uei, duns, name, cage FROM award_final "
            # Each transaction's own recipient too (after a novation, the earlier company).
            "UNION SELECT DISTINCT uei, duns, name, cage FROM tx_store "
            "WHERE coalesce(delete_mark, '') <> 'D'"
        ).fetchall()
    }
    # Parents in the same pass: most are recipients too, and one pass links them once.
    # A parent named only by its recipient's own name is that recipient (ties.py says
    # so too): resolving the name alone would make a twin.
    reported = [
        (RecipientRecord(uei=u or "", duns=d or "", name=n or ""), own or "")
        for u, d, n, own in stage.con.execute(
            "SELECT DISTINCT parent_uei, parent_duns, parent_name, name FROM tx_store "
            "WHERE coalesce(parent_uei, parent_duns, parent_name) IS NOT NULL "
            "AND coalesce(delete_mark, '') <> 'D' "
            "UNION SELECT DISTINCT parent_uei, parent_duns, parent_name, name FROM aw_kept "
            "WHERE coalesce(parent_uei, parent_duns, parent_name) IS NOT NULL"
        ).fetchall()
    ]
    # (Parents with an identifier are kept without computing a name key: most are.)
    parents = {p for p, own in reported if p.uei or p.duns or not names_itself(p, [name_key(own)])}
    done.recipients = done.resolver.resolve_many(records | parents)
    _count_entities(ctx.summary, done.resolver)
    stage.add_recipient_ids({r: done.recipients[r].pk for r in records})


def _count_entities(summary: ImportSummary, resolver: RecipientResolver) -> None:
    summary.entities_created = resolver.created
    summary.entities_linked = resolver.linked
    summary.queued_for_review = resolver.queued


def _transactions(ctx: ImportContext, stage: Stage, done: Stored, batch_size: int) -> None:
    """Transactions in batches, each its own transaction, in key order so the unique
    index grows at its end instead of everywhere; deletion marks delete theirs."""
    counts = ctx.summary.transactions
    table_was_empty = not ContractTransaction.objects.exists()
    (total,) = stage.con.execute("SELECT count(*) FROM tx_store").fetchone()  # type: ignore[misc]
    ctx.phase("storing transactions", int(total))
    stored = 0
    for batch in stage.fetch(_TX_SQL, batch=batch_size):
        keep: list[store.TransactionRow] = []
        marks: list[store.TransactionRow] = []
        for *values, deletion in batch:
            (marks if deletion else keep).append(store.TransactionRow._make(values))
        with transaction.atomic():
            if done.has_deletions:
                keep = store.drop_deleted_rows(keep, counts, transactions=True)
            done.touched |= store.store_transactions(keep, counts, table_was_empty=table_was_empty)
        if marks:
            _delete_transactions(counts, done, marks)
        stored += len(batch)
        ctx.advance(stored)


def _delete_transactions(
    counts: store.UpsertCounts, done: Stored, marks: Sequence[store.TransactionRow]
) -> None:
    gone = [m.transaction_key for m in marks]
    # A deletion mark may carry only the transaction key: find its award first.
    stamps = {m.transaction_key: m.last_modified or "" for m in marks}
    for key, award_key, recipient_id, modified in bulk.select_in(
        ContractTransaction,
        ["transaction_key", "award_key", "recipient_id", "last_modified"],
        "transaction_key",
        gone,
    ):
        done.deleted_awards.add(award_key)
        done.touched.add(recipient_id)
        stamps[key] = max(stamps[key], modified or "")
    with transaction.atomic():
        deleted = store.delete_keys(store.TX_TABLE, "transaction_key", gone)
        counts.deleted += deleted
        counts.marks_not_found += len(gone) - deleted
        # An older download read later must not bring them back.
        store.record_deletions(DeletedContractRecord.Kind.TRANSACTION, stamps)


def _deletions(ctx: ImportContext, stage: Stage, done: Stored) -> None:
    """Awards a summary file marks deleted go with their transactions, each dated by
    the newest row of it read in this run, its transactions' included."""
    removed_stamps = dict(
        stage.con.execute(
            "SELECT a.award_key, greatest(coalesce(a.last_modified, ''), "
            "coalesce(max(t.last_modified), '')) FROM aw_final a "
            "LEFT JOIN tx t ON t.award_key = a.award_key "
            "WHERE a.delete_mark = 'D' GROUP BY a.award_key, a.last_modified ORDER BY 1"
        ).fetchall()
    )
    removed = list(removed_stamps)
    ctx.phase("deleting awards", len(removed))
    staged_of_removed = (
        stage.con.execute(
            "SELECT t.transaction_key, t.award_key, coalesce(t.last_modified, '') FROM tx_final t "
            "SEMI JOIN aw_deleted d ON d.award_key = t.award_key "
            "WHERE coalesce(t.delete_mark, '') <> 'D'"
        ).fetchall()
        if removed
        else []
    )
    summary = ctx.summary
    for i in range(0, len(removed), 900):
        keys = removed[i : i + 900]
        stamps = {k: removed_stamps[k] for k in keys}
        for key, modified in bulk.select_in(
            ContractAward, ["award_key", "last_modified"], "award_key", keys
        ):
            stamps[key] = max(stamps[key], modified or "")
        # Their transactions are remembered as deleted one by one too: an award that
        # comes back (a modification after its deletion) brings back only what changed.
        tx_stamps: dict[str, str] = {}
        for tx_key, award_key, modified in [
            *bulk.select_in(
                ContractTransaction,
                ["transaction_key", "award_key", "last_modified"],
                "award_key",
                keys,
            ),
            *(row for row in staged_of_removed if row[1] in stamps),
        ]:
            stamp = max(modified or "", stamps[award_key])
            tx_stamps[tx_key] = max(tx_stamps.get(tx_key, ""), stamp)
        with transaction.atomic():
            store.record_deletions(DeletedContractRecord.Kind.AWARD, stamps)
            store.record_deletions(DeletedContractRecord.Kind.TRANSACTION, tx_stamps)
            done.pairs.update(_award_pairs(keys))
            done.touched.update(
                r
                for (r,) in bulk.select_in(ContractTransaction, ["recipient_id"], "award_key", keys)
            )
            summary.transactions.deleted += store.delete_keys(store.TX_TABLE, "award_key", keys)
            # Through the ORM: change events that name an award keep the event, not the link.
            deleted = (
                ContractAward.objects.filter(award_key__in=keys)
                .delete()[1]
                .get(ContractAward._meta.label, 0)
            )
            summary.awards.deleted += deleted
            summary.awards.marks_not_found += len(keys) - deleted
        ctx.advance(i + len(keys))


def _award_row(award: StagedAward, done: Stored) -> store.AwardRow:
    recipient = done.recipients[award.recipient]
    return store.AwardRow(
        award_key=award.award_key,
        piid=award.piid,
        parent_piid=award.parent_piid,
        awarding_agency_code=award.agency_code,
        awarding_sub_agency_code=award.sub_code,
        awarding_office_code=award.office_code,
        sub_agency_id=done.sub_of[(award.agency_code, award.sub_code)],
        recipient_id=recipient.pk,
        recipient_uei=award.uei,
        recipient_duns=award.duns,
        recipient_name=award.name,
        parent_uei=award.parent_uei,
        parent_duns=award.parent_duns,
        parent_name=award.parent_name,
        description=award.description,
        summary_obligated_cents=award.summary_cents,
        summary_base_date=award.base_date or "",
        summary_latest_date=award.latest_date or "",
        permalink=award.permalink or PERMALINK.format(award_key=award.award_key),
        last_modified=award.last_modified,
        current_end_date=award.current_end,
        potential_end_date=award.potential_end,
    )


def _awards(ctx: ImportContext, stage: Stage, done: Stored, today: str, batch_size: int) -> None:
    """Award records and the sources that cite them, in batches."""
    counts = ctx.summary.awards
    table_was_empty = not ContractAward.objects.exists()
    (total,) = stage.con.execute("SELECT count(*) FROM award_final").fetchone()  # type: ignore[misc]
    ctx.phase("storing awards", int(total))
    stored = 0
    for batch in stage.fetch(_AWARD_SQL, batch=min(batch_size, 20_000)):
        awards = [StagedAward._make(r) for r in batch]
        stored += len(awards)
        if done.has_deletions:
            awards = store.drop_deleted_rows(awards, counts, transactions=False)
            if not awards:
                continue
        rows = [_award_row(a, done) for a in awards]
        with transaction.atomic():
            # What every stored action says of each award, not only this import's rows.
            last_action = store.settle_awards(
                rows,
                {
                    a.award_key: store.StagedActions(
                        (a.first_key or "", a.first_version or ""),
                        (a.latest_key or "", a.latest_version or ""),
                    )
                    for a in awards
                    if a.built_from_transactions
                },
            )
            specs = [
                services.RecordSource(
                    ftm_id=award_source_id(row.award_key),
                    title=(
                        f"USAspending contract award {row.piid or row.award_key}: "
                        f"{done.sub_name.get(row.sub_agency_id) or done.sub_name[done.sub_of[(a.agency_code, a.sub_code)]]} "
                        f"with {row.recipient_name or row.recipient_uei or row.recipient_duns}"
                    )[:480],
                    url=row.permalink,
                    publisher=PUBLISHER,
                    # Dated by the award's latest action, whichever import brought it.
                    published=last_action.get(row.award_key) or a.last_action or "",
                    retrieved=today,
                )
                for row, a in zip(rows, awards, strict=True)
            ]
            source_ids = services.save_record_sources(specs)
            for row, spec in zip(rows, specs, strict=True):
                row.source_id = source_ids[spec.ftm_id]
                done.pairs.add((row.recipient_id, row.sub_agency_id))  # type: ignore[arg-type]
            before = store.store_awards(rows, counts, table_was_empty=table_was_empty)
            # Change events (receipts.watch) for new awards above the alert threshold.
            awards_stored.send(sender=ContractAward, award_keys=[a.award_key for a in awards])
        done.pairs.update(p for p in before.values() if p[0] is not None and p[1] is not None)  # type: ignore[misc]
        ctx.advance(stored)


def _pairs(ctx: ImportContext, stage: Stage, done: Stored) -> None:
    """Recompute the contract ties of every (recipient, sub-agency) pair the run touched."""
    ctx.phase("contract ties")
    done.pairs.update(_award_pairs(sorted(done.deleted_awards)))
    # Each transaction's own recipient with its award's sub-agency (after a novation,
    # the earlier company's actions count for it), and every tie of a recipient whose
    # stored transactions changed hands or went.
    for recipient_id, agency_code, sub_code in stage.con.execute(
        """SELECT DISTINCT t.recipient_id, a.agency_code, a.sub_code
           FROM tx_resolved t JOIN award_final a ON a.award_key = t.award_key
           WHERE coalesce(t.delete_mark, '') <> 'D' AND t.recipient_id IS NOT NULL"""
    ).fetchall():
        done.pairs.add((int(recipient_id), done.sub_of[(agency_code, sub_code)]))
    done.touched.discard(None)
    done.pairs.update(
        (subject_id, object_id)
        for subject_id, object_id, kind, ftm_id in bulk.select_in(
            Tie, ["subject_id", "object_id", "kind", "ftm_id"], "subject_id", sorted(done.touched)
        )
        if kind == TieKind.CONTRACT and ftm_id.startswith(CONTRACT_PREFIX)
    )
    _refresh_planner_statistics(
        [store.AWARD_TABLE, Source._meta.db_table, ChangeEvent._meta.db_table]
    )
    ctx.advance(0, len(done.pairs))
    recompute_contract_ties(done.pairs, ctx.summary.ties)


def _ownership(ctx: ImportContext, done: Stored) -> None:
    """Ownership ties from the parents the recipients of the touched pairs reported."""
    ctx.phase("ownership ties")
    record_reported_parents({p[0] for p in done.pairs}, done.resolver, ctx.summary.ties)
    _count_entities(ctx.summary, done.resolver)
