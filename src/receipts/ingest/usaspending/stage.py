"""Staging USAspending rows in DuckDB: read, check and de-duplicate before storing.

DuckDB reads each CSV (only the columns used), checks every value in bulk and
writes a problem per rejected row to ``rejects``. Nothing here touches the
Receipts database, so a file that fails to read leaves it as it was. The
staging database lives in a temporary folder and spills to disk, so memory
stays bounded whatever the file size.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from receipts.evidence.models import Entity

from .dates import DateFormatError, DateReader, check_formats
from .files import CsvInput, InputError
from .formats import TRANSACTIONS, column_map

ENTITY_NAME_MAX_LENGTH = Entity._meta.get_field("name").max_length

_STAGE_COLUMNS = """
    file_no INTEGER, row_no BIGINT,
    award_key VARCHAR, piid VARCHAR, parent_piid VARCHAR, parent_agency_id VARCHAR,
    agency_code VARCHAR, agency_name VARCHAR, sub_code VARCHAR, sub_name VARCHAR,
    office_code VARCHAR, office_name VARCHAR,
    uei VARCHAR, duns VARCHAR, name VARCHAR, cage VARCHAR,
    parent_uei VARCHAR, parent_duns VARCHAR, parent_name VARCHAR,
    permalink VARCHAR, last_modified VARCHAR, description VARCHAR, delete_mark VARCHAR,
    current_end VARCHAR, potential_end VARCHAR
"""


# Dollars and cents as USAspending writes them: 1234.56, -80, .5. Anything else
# (1,234.56, $12, 1.23E+11 from a spreadsheet, 2.675) is refused, never rounded;
# so is anything from ten trillion dollars up (no contract action comes near, and
# cents must fit the staging DECIMAL(18, 2)).
_AMOUNT = r"regexp_full_match({}, '-?(\d{{1,13}}(\.\d{{0,2}})?|\.\d{{1,2}})')"
_NOT_AN_AMOUNT = " is not an amount in dollars and cents (like 1234.56)"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# The date fields of both kinds of file, and whether their time of day is kept:
# last_modified_date orders the versions of a record, to the fraction of a second.
_DATE_FIELDS = {
    "action_date": False,
    "base_date": False,
    "latest_date": False,
    "last_modified": True,
    # Periods of performance: read when they can be, never a reason to reject a row.
    "current_end": False,
    "potential_end": False,
}


@dataclass(frozen=True)
class Check:
    """SQL giving the reason a row is refused (or NULL), and the field it is about.

    ``on_deletions``: checked on deletion marks too, which need little but their key.
    """

    sql: str
    field: str
    on_deletions: bool = False


class Stage:
    """A DuckDB working database for one import run."""

    def __init__(
        self,
        workdir: Path,
        date_format: str | Sequence[str] | None = None,
        memory_limit: str = "400MB",
    ) -> None:
        self.workdir = workdir
        formats = (date_format,) if isinstance(date_format, str) else tuple(date_format or ())
        try:
            check_formats(formats)
        except DateFormatError as exc:
            raise InputError(str(exc)) from None
        self.dates = DateReader(formats)
        # file number -> date column -> the --date-format values its form asks for.
        self.suggested: dict[int, dict[str, list[str]]] = {}
        self.con = duckdb.connect(str(workdir / "stage.duckdb"))
        tmp = workdir / "duckdb-tmp"
        tmp.mkdir(exist_ok=True)
        self.con.execute(f"SET memory_limit={_sql_str(memory_limit)}")
        self.con.execute(f"SET temp_directory={_sql_str(str(tmp))}")
        self.con.execute("SET preserve_insertion_order=true")
        self.con.execute(
            f"""
            CREATE TABLE tx ({_STAGE_COLUMNS}, transaction_key VARCHAR, modification_number VARCHAR,
                action_date VARCHAR, fiscal_year INTEGER, obligation_cents BIGINT);
            CREATE TABLE aw ({_STAGE_COLUMNS}, total_cents BIGINT, base_date VARCHAR, latest_date VARCHAR);
            CREATE TABLE rejects (file VARCHAR, file_no INTEGER, row_no BIGINT, column_name VARCHAR,
                value VARCHAR, reason VARCHAR);
            """
        )

    def close(self) -> None:
        self.con.close()

    # --- reading -------------------------------------------------------------------

    def _run_with_progress(self, sql: str, on_progress: Callable[[float], None] | None) -> None:
        """Run one long statement, reporting DuckDB's own progress (0 to 100) while it runs."""
        if on_progress is None:
            self.con.execute(sql)
            return
        error: list[BaseException] = []

        def work() -> None:
            try:
                self.con.execute(sql)
            except BaseException as exc:  # re-raised in the caller's thread
                error.append(exc)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
            try:
                percent = self.con.query_progress()
            except duckdb.Error:
                percent = -1
            if percent is not None and percent >= 0:
                on_progress(float(percent))
        if error:
            raise error[0]
        on_progress(100.0)

    def load(
        self, file_no: int, inp: CsvInput, on_progress: Callable[[float], None] | None = None
    ) -> dict[str, Any]:
        """Read one CSV into staging; returns rows ``read`` and ``rejected``, and the
        ``columns`` read, each with how many of its values could not be used."""
        cols = column_map(inp.kind, inp.header)

        def raw(field: str) -> str:
            column = cols.get(field)
            return (
                f"NULLIF(trim(\"{column.replace(chr(34), chr(34) * 2)}\"), '')"
                if column
                else "NULL"
            )

        wanted = {f: raw(f) for f in inp.kind.fields}
        select = ", ".join(f"{expr} AS {f}" for f, expr in wanted.items())
        path = _sql_str(str(inp.path))
        # row_no: the row as a spreadsheet shows it (the header is row 1).
        sql = f"""
            CREATE OR REPLACE TEMP TABLE raw AS
            SELECT row_number() OVER () + 1 AS row_no, {select}
            FROM read_csv({path}, header=true, all_varchar=true, delim=',', quote='"', escape='"',
                          strict_mode=true, max_line_size=10000000)
        """
        try:
            self._run_with_progress(sql, on_progress)
        except duckdb.Error as exc:
            raise InputError(
                f"{inp.display}: the CSV cannot be read: {self._csv_problem(inp, exc)}"
            ) from exc
        self._cols = cols
        self._file_no = file_no
        self._read_dates(inp)
        if inp.kind is TRANSACTIONS:
            found = self._load_transactions(file_no, inp)
        else:
            found = self._load_awards(file_no, inp)
        return found

    def _read_dates(self, inp: CsvInput) -> None:
        """Read each date column once, into <field>__ts: the possible date (and time),
        or NULL. The column's form (day or month first, as far as its rows tell)
        decides which of the formats given may read it."""
        self._forms: dict[str, tuple[Any, ...]] = {}
        for field, with_time in _DATE_FIELDS.items():
            if field not in inp.kind.fields:
                continue
            form: tuple[Any, ...] = (0,) * 6
            if self._cols[field] is not None:
                form = tuple(
                    self.con.execute(self.dates.form_query(field, "raw")).fetchone() or form
                )
            self._forms[field] = form
            ts = self.dates.timestamp(field, with_time, self.dates.fitting(form))
            self.con.execute(f"ALTER TABLE raw ADD COLUMN {field}__ts TIMESTAMP")
            self.con.execute(f"UPDATE raw SET {field}__ts = {ts}")

    def _date_check(self, field: str, required: bool) -> Check:
        """The check of a date field, with the --date-format that fits its column's form."""
        header = self._cols[field] or field
        form = self._forms[field]
        advice, formats = self.dates.advice(form)
        if formats:
            self.suggested.setdefault(self._file_no, {})[header] = formats
        problem = self.dates.problem(
            field, f"{field}__ts", header, advice, self.dates.fitting(form)
        )
        if required:
            problem = (
                f"CASE WHEN {field} IS NULL THEN {_sql_str(header + ': empty')} ELSE {problem} END"
            )
        return Check(problem, field, on_deletions=not required)

    def _common_checks(self) -> list[Check]:
        """Checks shared by both kinds of file."""
        return [
            Check(
                "CASE WHEN awarding_sub_agency_code IS NULL THEN 'awarding_sub_agency_code: empty' END",
                "awarding_sub_agency_code",
            ),
            Check(
                "CASE WHEN awarding_agency_code IS NULL THEN 'awarding_agency_code: empty' END",
                "awarding_agency_code",
            ),
            Check(
                "CASE WHEN recipient_uei IS NULL AND recipient_duns IS NULL AND recipient_name IS NULL "
                "THEN 'recipient_name: no recipient name, UEI or DUNS' END",
                "recipient_name",
            ),
            Check(
                "CASE WHEN recipient_uei IS NOT NULL AND NOT regexp_full_match(upper(recipient_uei), '[A-Z0-9]{12}') "
                "THEN 'recipient_uei: ' || recipient_uei || ' is not a 12-character UEI' END",
                "recipient_uei",
            ),
            Check(
                "CASE WHEN recipient_duns IS NOT NULL AND NOT regexp_full_match(recipient_duns, '\\d{1,9}') "
                "THEN 'recipient_duns: ' || recipient_duns || ' is not a DUNS number' END",
                "recipient_duns",
            ),
            Check(
                "CASE WHEN parent_uei IS NOT NULL AND NOT regexp_full_match(upper(parent_uei), '[A-Z0-9]{12}') "
                "THEN 'recipient_parent_uei: ' || parent_uei || ' is not a 12-character UEI' END",
                "parent_uei",
            ),
            Check(
                "CASE WHEN parent_duns IS NOT NULL AND NOT regexp_full_match(parent_duns, '\\d{1,9}') "
                "THEN 'recipient_parent_duns: ' || parent_duns || ' is not a DUNS number' END",
                "parent_duns",
            ),
            # The version of a record rests on last_modified_date: a value that cannot be
            # read rejects the row, never leaves it undated.
            self._date_check("last_modified", required=False),
            # A name becomes an entity's name, which the evidence services refuse past its
            # column's width: the row is rejected here, named, instead of the whole import.
            *(
                Check(
                    f"CASE WHEN length({sql}) > {ENTITY_NAME_MAX_LENGTH} THEN '{header}: ' || "
                    f"length({sql}) || ' characters where at most {ENTITY_NAME_MAX_LENGTH} "
                    "are kept' END",
                    sql,
                )
                for sql, header in (
                    ("recipient_name", "recipient_name"),
                    ("parent_name", "recipient_parent_name"),
                    ("awarding_agency_name", "awarding_agency_name"),
                    ("awarding_sub_agency_name", "awarding_sub_agency_name"),
                )
            ),
        ]

    def _record_rejects(self, file_no: int, display: str, checks: list[Check], key_sql: str) -> int:
        deletion = "upper(coalesce(correction_delete, '')) = 'D'"
        key_missing = (
            f"CASE WHEN {key_sql} IS NULL "
            "THEN 'correction_delete_ind: a deletion without its unique key' END"
        )
        on_deletions = ", ".join([key_missing, *(f"({c.sql})" for c in checks if c.on_deletions)])
        # A deletion mark needs only the key (and a readable date, if it has one):
        # its other columns may be empty.
        problems = (
            f"CASE WHEN {deletion} THEN coalesce({on_deletions}) "
            f"ELSE coalesce({', '.join(f'({c.sql})' for c in checks)}) END"
        )
        # One row per rejected row: its first problem, which names the column.
        self.con.execute(
            f"""
            INSERT INTO rejects
            SELECT ?, ?, row_no, split_part(problem, ':', 1), NULL, problem
            FROM (SELECT row_no, {problems} AS problem FROM raw)
            WHERE problem IS NOT NULL
            """,
            [display, file_no],
        )
        (count,) = self.con.execute(
            "SELECT count(*) FROM rejects WHERE file_no = ?", [file_no]
        ).fetchone()  # type: ignore[misc]
        # Each check counted on its own (a row may have several bad values), by field.
        counts = self.con.execute(
            "SELECT "
            + ", ".join(
                f"count(*) FILTER (WHERE ({c.sql}) IS NOT NULL"
                + ("" if c.on_deletions else f" AND NOT {deletion}")
                + ")"
                for c in checks
            )
            + f", count(*) FILTER (WHERE {deletion} AND ({key_missing}) IS NOT NULL) FROM raw"
        ).fetchone()
        self._not_usable: dict[str, int] = {}
        key_field = "transaction_key" if self._cols.get("transaction_key") else "award_key"
        for field, n in zip([*(c.field for c in checks), key_field], counts or (), strict=True):
            self._not_usable[field] = self._not_usable.get(field, 0) + int(n)
        return int(count)

    def _columns_read(self, inp: CsvInput) -> list[dict[str, Any]]:
        """Each column read, in the header's order, with how many of its values were not usable."""
        by_column: dict[str, int] = {}
        for field, column in self._cols.items():
            if column is not None:
                by_column[column] = by_column.get(column, 0) + self._not_usable.get(field, 0)
        order = {c: i for i, c in enumerate(inp.header)}
        return [
            {"column": c, "not_usable": n}
            for c, n in sorted(by_column.items(), key=lambda x: order[x[0]])
        ]

    def _common_select(self) -> str:
        # Spreadsheets drop the leading zeros of agency codes as of DUNS: DHS "070" becomes "70".
        return rf"""
            CASE WHEN regexp_full_match(awarding_agency_code, '\d{{1,3}}') THEN lpad(awarding_agency_code, 3, '0')
                 ELSE awarding_agency_code END,
            awarding_agency_name,
            CASE WHEN regexp_full_match(awarding_sub_agency_code, '\d{{1,4}}') THEN lpad(awarding_sub_agency_code, 4, '0')
                 ELSE awarding_sub_agency_code END,
            awarding_sub_agency_name,
            awarding_office_code, awarding_office_name,
            upper(recipient_uei), CASE WHEN recipient_duns IS NOT NULL THEN lpad(recipient_duns, 9, '0') END,
            recipient_name, upper(cage_code),
            upper(parent_uei), CASE WHEN parent_duns IS NOT NULL THEN lpad(parent_duns, 9, '0') END,
            parent_name, permalink,
            coalesce({DateReader.timestamp_text("last_modified__ts")}, ''),
            description, upper(correction_delete),
            {DateReader.date_text("current_end__ts")}, {DateReader.date_text("potential_end__ts")}
        """

    def _csv_problem(self, inp: CsvInput, exc: duckdb.Error) -> str:
        """What is wrong with a CSV DuckDB could not read, and on which line, in a sentence.

        When the sniffer gives up ("Error when sniffing file") the file is read
        again without it, with the header's columns, so the parser can say
        which line breaks the format.
        """
        message = str(exc)
        if "sniffing" in message:
            columns = ", ".join(
                f"{_sql_str(name)}: 'VARCHAR'" for name in dict.fromkeys(inp.header)
            )
            try:
                self.con.execute(
                    f"""SELECT count(*) FROM read_csv({_sql_str(str(inp.path))}, header=true,
                        auto_detect=false, columns={{{columns}}}, delim=',', quote='"',
                        escape='"', strict_mode=true, max_line_size=10000000)"""
                ).fetchall()
            except duckdb.Error as again:
                message = str(again)
        lines = [line.strip() for line in message.splitlines()]
        where = re.search(r"CSV Error on Line: (\d+)", message)
        if not where:
            return lines[0]
        reason = ""
        if "Possible fixes:" in lines:
            reason = next((x for x in reversed(lines[: lines.index("Possible fixes:")]) if x), "")
        found = re.match(r"Expected Number of Columns: (\d+) Found: (\d+)", reason)
        if found:
            reason = f"{found[2]} fields where the header has {found[1]}"
        elif "unterminated quote" in reason:
            reason = 'a quote (") opens a field that never closes'
        elif "unicode" in message.lower():
            reason = "text that is not UTF-8"
        # DuckDB counts records (the header is 1), as the rejects report counts rows.
        return f"row {where[1]}: {reason or lines[0]}"

    def _load_transactions(self, file_no: int, inp: CsvInput) -> dict[str, Any]:
        checks = [
            Check(
                "CASE WHEN obligation IS NULL THEN 'federal_action_obligation: empty' "
                f"WHEN NOT {_AMOUNT.format('obligation')} THEN 'federal_action_obligation: ' || obligation || "
                f"'{_NOT_AN_AMOUNT}' END",
                "obligation",
            ),
            self._date_check("action_date", required=True),
            Check("CASE WHEN piid IS NULL THEN 'award_id_piid: empty' END", "piid"),
            *self._common_checks(),
        ]
        has_keys = self._cols.get("transaction_key") is not None
        if has_keys:
            checks += [
                Check(
                    "CASE WHEN transaction_key IS NULL THEN 'contract_transaction_unique_key: empty' END",
                    "transaction_key",
                ),
                Check(
                    "CASE WHEN award_key IS NULL THEN 'contract_award_unique_key: empty' END",
                    "award_key",
                ),
            ]
        rejected = self._record_rejects(
            file_no, inp.display, checks, "coalesce(transaction_key, award_key)"
        )
        date = DateReader.date_text("action_date__ts")
        # Files before the unique keys existed: build them as USAspending does.
        none = "'-NONE-'"
        award_key = (
            "award_key"
            if has_keys
            else f"'CONT_AWD_' || piid || '_' || awarding_sub_agency_code || '_' || coalesce(parent_piid, {none}) "
            f"|| '_' || coalesce(parent_agency_id, {none})"
        )
        tx_key = (
            "transaction_key"
            if has_keys
            else f"awarding_sub_agency_code || '_' || coalesce(parent_agency_id, {none}) || '_' || piid || '_' "
            f"|| coalesce(modification_number, '0') || '_' || coalesce(parent_piid, {none}) || '_' "
            f"|| coalesce(transaction_number, '0')"
        )
        self.con.execute(
            f"""
            INSERT INTO tx
            SELECT ?, r.row_no, {award_key}, piid, parent_piid, parent_agency_id, {self._common_select()},
                   {tx_key}, coalesce(modification_number, '0'), {date},
                   CAST(substr({date}, 1, 4) AS INTEGER) + CASE WHEN CAST(substr({date}, 6, 2) AS INTEGER) >= 10 THEN 1 ELSE 0 END,
                   CAST(round(CAST(obligation AS DECIMAL(18,2)) * 100) AS BIGINT)
            FROM raw r ANTI JOIN (SELECT row_no FROM rejects WHERE file_no = ?) x ON r.row_no = x.row_no
            """,
            [file_no, file_no],
        )
        (read,) = self.con.execute("SELECT count(*) FROM raw").fetchone()  # type: ignore[misc]
        return {"read": int(read), "rejected": rejected, "columns": self._columns_read(inp)}

    def _load_awards(self, file_no: int, inp: CsvInput) -> dict[str, Any]:
        checks = [
            Check(
                "CASE WHEN total_obligated IS NULL THEN 'total_obligated_amount: empty' "
                f"WHEN NOT {_AMOUNT.format('total_obligated')} THEN 'total_obligated_amount: ' || total_obligated || "
                f"'{_NOT_AN_AMOUNT}' END",
                "total_obligated",
            ),
            self._date_check("base_date", required=True),
            self._date_check("latest_date", required=False),
            Check(
                "CASE WHEN award_key IS NULL THEN 'contract_award_unique_key: empty' END",
                "award_key",
            ),
            *self._common_checks(),
        ]
        rejected = self._record_rejects(file_no, inp.display, checks, "award_key")
        self.con.execute(
            f"""
            INSERT INTO aw
            SELECT ?, r.row_no, award_key, piid, parent_piid, parent_agency_id, {self._common_select()},
                   CAST(round(CAST(total_obligated AS DECIMAL(18,2)) * 100) AS BIGINT),
                   {DateReader.date_text("base_date__ts")},
                   coalesce({DateReader.date_text("latest_date__ts")}, '')
            FROM raw r ANTI JOIN (SELECT row_no FROM rejects WHERE file_no = ?) x ON r.row_no = x.row_no
            """,
            [file_no, file_no],
        )
        (read,) = self.con.execute("SELECT count(*) FROM raw").fetchone()  # type: ignore[misc]
        return {"read": int(read), "rejected": rejected, "columns": self._columns_read(inp)}

    # --- after all files are read ----------------------------------------------------

    def finish(self) -> dict[str, int]:
        """De-duplicate across files and build the award table; returns the counts the
        summary needs: rows ``repeated`` across the files, transaction rows left out
        ``with_deleted_award``."""
        # A key seen twice (overlapping downloads) keeps its newest modification.
        # A deletion mark wins over any row of its key (it often carries nothing
        # but the key, so no date to compare): the delta file that deletes a
        # record is newer than the download that still holds it. Among rows of
        # one date a correction wins, then the file named later. Without repeats
        # (the usual single download) the tables are used as they are, which
        # spares a sort of every row.
        repeated = 0
        for table, key in (("tx", "transaction_key"), ("aw", "award_key")):
            (repeats,) = self.con.execute(
                f"SELECT count(*) - count(DISTINCT {key}) FROM {table}"
            ).fetchone()  # type: ignore[misc]
            repeated += int(repeats)
            if repeats == 0:
                self.con.execute(f"CREATE VIEW {table}_final AS SELECT * FROM {table}")
                continue
            self.con.execute(
                f"""
                CREATE TABLE {table}_final AS
                SELECT * EXCLUDE (rn) FROM (
                    SELECT *, row_number() OVER (PARTITION BY {key}
                        ORDER BY coalesce(delete_mark, '') = 'D' DESC, last_modified DESC,
                                 coalesce(delete_mark, '') = 'C' DESC, file_no DESC, row_no DESC) AS rn
                    FROM {table}) WHERE rn = 1
                """
            )
        # A deletion that won over rows of its key read in this run is dated by the
        # newest of them: a later import of those files must not bring the record back.
        # (Without repeats the table is a view, and a deletion the only row of its key.)
        for table, key in (("tx", "transaction_key"), ("aw", "award_key")):
            if self._is_table(f"{table}_final"):
                self.con.execute(
                    f"""
                    UPDATE {table}_final f SET last_modified = m.newest
                    FROM (SELECT {key}, max(last_modified) AS newest FROM {table} GROUP BY {key}) m
                    WHERE f.{key} = m.{key} AND f.delete_mark = 'D' AND m.newest > f.last_modified
                    """
                )
        # An award-summary row marked D deletes the award: its record, its summary
        # and its transactions (USAspending deletes an award with its actions).
        self.con.execute(
            "CREATE TABLE aw_deleted AS SELECT DISTINCT award_key FROM aw_final WHERE delete_mark = 'D'"
        )
        self.con.execute(
            "CREATE VIEW aw_kept AS SELECT * FROM aw_final WHERE coalesce(delete_mark, '') <> 'D'"
        )
        # Transactions to store or delete: all but those of deleted awards.
        self.con.execute(
            "CREATE VIEW tx_store AS SELECT t.* FROM tx_final t ANTI JOIN aw_deleted d ON d.award_key = t.award_key"
        )
        # Award records: the latest transaction describes the award; a summary row,
        # where one was read, adds its total and dates.
        self.con.execute(
            """
            CREATE TABLE award_final AS
            WITH latest AS (
                SELECT * EXCLUDE (rn) FROM (
                    SELECT *, row_number() OVER (PARTITION BY award_key
                        ORDER BY action_date DESC, last_modified DESC, modification_number DESC,
                                 transaction_key DESC) AS rn
                    FROM tx_store WHERE coalesce(delete_mark, '') <> 'D') WHERE rn = 1),
            base AS (
                SELECT award_key, first(description ORDER BY action_date, modification_number, transaction_key) AS base_description,
                       max(last_modified) AS newest_change
                FROM tx_store WHERE coalesce(delete_mark, '') <> 'D' GROUP BY award_key)
            SELECT coalesce(s.award_key, l.award_key) AS award_key,
                   coalesce(s.piid, l.piid) AS piid,
                   coalesce(s.parent_piid, l.parent_piid) AS parent_piid,
                   coalesce(s.agency_code, l.agency_code) AS agency_code,
                   coalesce(s.agency_name, l.agency_name) AS agency_name,
                   coalesce(s.sub_code, l.sub_code) AS sub_code,
                   coalesce(s.sub_name, l.sub_name) AS sub_name,
                   coalesce(s.office_code, l.office_code) AS office_code,
                   coalesce(s.office_name, l.office_name) AS office_name,
                   coalesce(s.uei, l.uei) AS uei, coalesce(s.duns, l.duns) AS duns,
                   coalesce(s.name, l.name) AS name, coalesce(s.cage, l.cage) AS cage,
                   coalesce(s.description, b.base_description, l.description) AS description,
                   s.total_cents AS summary_cents, coalesce(s.base_date, '') AS base_date,
                   coalesce(s.latest_date, '') AS latest_date,
                   coalesce(s.permalink, l.permalink) AS permalink,
                   -- Dated by the newest change of any of its rows, not of its latest action.
                   greatest(coalesce(s.last_modified, ''), coalesce(b.newest_change, '')) AS last_modified,
                   -- The period of performance its latest action gives (a summary's, where read).
                   coalesce(s.current_end, l.current_end) AS current_end,
                   coalesce(s.potential_end, l.potential_end) AS potential_end
            FROM aw_kept s FULL OUTER JOIN latest l ON s.award_key = l.award_key
            LEFT JOIN base b ON b.award_key = coalesce(s.award_key, l.award_key)
            """
        )
        (with_deleted_award,) = self.con.execute(
            "SELECT count(*) FROM tx_final t SEMI JOIN aw_deleted d "
            "ON d.award_key = t.award_key WHERE coalesce(t.delete_mark, '') <> 'D'"
        ).fetchone()  # type: ignore[misc]
        return {"repeated": repeated, "with_deleted_award": int(with_deleted_award)}

    def add_recipient_ids(self, ids: Mapping[Any, int]) -> None:
        """Stage the entity each recipient record (uei, duns, name, cage) resolved to,
        as ``recipient_ids``, so rows can be joined to it here rather than looked up
        one by one in Python. Written as a CSV and read back: DuckDB takes many
        rows from a file far faster than from parameters."""
        path = self.workdir / "recipient-ids.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            # Plain csv, not receipts.spreadsheet: DuckDB reads the names back exactly.
            writer = csv.writer(handle)
            writer.writerow(["uei", "duns", "name", "cage", "entity_id"])
            writer.writerows([r.uei, r.duns, r.name, r.cage, pk] for r, pk in ids.items())
        self.con.execute(
            f"""
            CREATE OR REPLACE TABLE recipient_ids AS
            SELECT coalesce(uei, '') AS uei, coalesce(duns, '') AS duns, coalesce(name, '') AS name,
                   coalesce(cage, '') AS cage, CAST(entity_id AS BIGINT) AS entity_id
            FROM read_csv({_sql_str(str(path))}, header=true, all_varchar=true, delim=',',
                          quote='"', escape='"')
            """
        )
        # Transactions to store, each with the entity its own recipient resolved to.
        self.con.execute(
            """
            CREATE OR REPLACE VIEW tx_resolved AS
            SELECT t.*, r.entity_id AS recipient_id
            FROM tx_store t LEFT JOIN recipient_ids r
              ON r.uei = coalesce(t.uei, '') AND r.duns = coalesce(t.duns, '')
             AND r.name = coalesce(t.name, '') AND r.cage = coalesce(t.cage, '')
            """
        )

    def _is_table(self, name: str) -> bool:
        (found,) = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]
        ).fetchone()  # type: ignore[misc]
        return bool(found)

    def fetch(self, sql: str, params: list[Any] | None = None, batch: int = 50_000) -> Any:
        """Yield lists of result rows, ``batch`` at a time, without holding them all."""
        cursor = self.con.cursor()
        cursor.execute(sql, params or [])
        while rows := cursor.fetchmany(batch):
            yield rows

    def rejects(self) -> list[tuple[str, int, str, str]]:
        return [
            (r[0], int(r[1]), r[2], r[3])
            for r in self.con.execute(
                "SELECT file, row_no, column_name, reason FROM rejects ORDER BY file_no, row_no"
            ).fetchall()
        ]
