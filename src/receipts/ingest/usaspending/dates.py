"""Reading the dates of USAspending files: ISO dates, or the forms ``--date-format`` names.

A date is read as ISO (``2013-07-25``, with or without a time) or by the
first ``--date-format`` that gives a possible date; anything else is refused
with its reason, never guessed and never dropped. A possible date lies
between ``EARLIEST`` and ``latest()``: a year read from two digits by ``%Y``
(``12/22/17`` as the year 17) or a wrong century falls outside and is refused.
When dates are not readable, the form the column's values actually have
(day or month first, two- or four-digit years) gives the ``--date-format``
to suggest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

# No USAspending record is older: federal procurement data starts in the late
# 1970s, and a year before 1900 is a misread one (DuckDB's %Y takes "17" as 17).
EARLIEST = dt.date(1900, 1, 1)
# Federal law caps a contract's term at 25 years (energy savings performance
# contracts, 42 U.S.C. 8287), so no contract date, not even the end of the
# longest period of performance, lies further ahead; 30 years leaves a margin
# and still catches a two-digit year read in the wrong century.
YEARS_AHEAD = 30


def latest(today: dt.date | None = None) -> dt.date:
    """The latest possible date: ``YEARS_AHEAD`` years from today."""
    today = today or dt.date.today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_ISO = r"'\d{4}-\d{2}-\d{2}([ T].*)?'"
# Day, month and year in either order, as a spreadsheet writes them.
_NUMERIC = r"'^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{2,4})(?:[ T].*)?$'"
_TIME_DIRECTIVE = re.compile(r"%-?[HIMSpfzZ]")


def day_order(fmt: str) -> str:
    """Which of day and month a format reads first: "dm", "md" (or "" for neither)."""
    return "".join("d" if c in "de" else "m" for c in re.findall(r"%-?([debBm])", fmt)).replace(
        "b", "m"
    )[:2]


class DateFormatError(ValueError):
    """A --date-format that cannot read a date."""


def check_formats(formats: Sequence[str]) -> None:
    """DateFormatError unless each format names a day, a month and a year DuckDB can read."""
    con = duckdb.connect()
    try:
        for fmt in formats:
            missing = [
                part
                for part, pattern in (
                    ("year", r"%-?[Yy]"),
                    ("month", r"%-?[mbB]"),
                    ("day", r"%-?[de]"),
                )
                if not re.search(pattern, fmt)
            ]
            if missing:
                raise DateFormatError(
                    f"--date-format {fmt}: names no {', '.join(missing)} "
                    "(write it as in strftime, e.g. %d/%m/%Y)"
                )
            try:
                con.execute("SELECT TRY_STRPTIME('01/01/2000', ?)", [fmt]).fetchall()
            except duckdb.Error as exc:
                raise DateFormatError(f"--date-format {fmt}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


@dataclass(frozen=True)
class DateReader:
    """SQL that reads a date column by the rules above, for one import run."""

    formats: tuple[str, ...] = ()
    today: dt.date | None = None

    @property
    def bounds(self) -> tuple[str, str]:
        return EARLIEST.isoformat(), latest(self.today).isoformat()

    def _possible(self, ts: str) -> str:
        lo, hi = self.bounds
        return f"CASE WHEN {ts} >= DATE '{lo}' AND {ts} < DATE '{hi}' + 1 THEN {ts} END"

    def _by_format(self, column: str, fmt: str, with_time: bool) -> str:
        """The TIMESTAMP ``fmt`` reads from ``column`` (NULL if it does not).

        A format without a time applies to the date part; the time that follows
        it (a spreadsheet's "16:17") is kept for a timestamp and ignored for a date.
        """
        if _TIME_DIRECTIVE.search(fmt):
            return f"TRY_STRPTIME({column}, {_sql_str(fmt)})"
        day = f"TRY_STRPTIME(regexp_extract({column}, '^(\\S+)', 1), {_sql_str(fmt)})"
        if not with_time:
            return day
        rest = f"regexp_extract({column}, '^\\S+[ T](.*)$', 1)"
        return (
            f"TRY_CAST(strftime({day}, '%Y-%m-%d') || CASE WHEN {rest} = '' THEN '' "
            f"ELSE ' ' || {rest} END AS TIMESTAMP)"
        )

    def fitting(self, form: tuple[object, ...]) -> tuple[str, ...]:
        """The formats that may read a column of this ``form``: all, less those that put
        day and month the other way round from what its rows prove (a first number
        above 12 is a day, a second one a day too). Read by such a format, every date
        of the column with both numbers up to 12 would be silently swapped."""
        count, first, second = form[:3]
        if not count:
            return self.formats
        day_first, month_first = int(first) > 12, int(second) > 12  # type: ignore[call-overload]
        if day_first == month_first:
            return self.formats
        proven = "dm" if day_first else "md"
        return tuple(
            f
            for f in self.formats
            if not re.match(r"%-?[debBm]", f) or day_order(f) in ("", proven)
        )

    def timestamp(self, column: str, with_time: bool, formats: Sequence[str] | None = None) -> str:
        """SQL: the possible TIMESTAMP in ``column`` (read by ``formats``, by default
        all those given), or NULL."""
        formats = self.formats if formats is None else formats
        iso = (
            f"TRY_CAST(replace(substr({column}, 1, 26), 'T', ' ') AS TIMESTAMP)"
            if with_time
            else f"CAST(TRY_CAST(substr({column}, 1, 10) AS DATE) AS TIMESTAMP)"
        )
        tries = [f"CASE WHEN regexp_full_match({column}, {_ISO}) THEN {self._possible(iso)} END"]
        tries += [self._possible(self._by_format(column, f, with_time)) for f in formats]
        return f"COALESCE({', '.join(tries)})" if len(tries) > 1 else tries[0]

    @staticmethod
    def date_text(ts_column: str) -> str:
        """SQL: the TIMESTAMP in ``ts_column`` as a date, YYYY-MM-DD."""
        return f"strftime({ts_column}, '%Y-%m-%d')"

    @staticmethod
    def timestamp_text(ts_column: str) -> str:
        """SQL: the TIMESTAMP in ``ts_column`` as YYYY-MM-DD HH:MM:SS, with the fraction
        only when there is one (so whole-second values compare as they always have,
        and versions a fraction of a second apart stay apart)."""
        t = ts_column
        return (
            f"strftime({t}, '%Y-%m-%d %H:%M:%S') || CASE WHEN microsecond({t}) % 1000000 > 0 "
            f"THEN '.' || lpad(CAST(microsecond({t}) % 1000000 AS VARCHAR), 6, '0') ELSE '' END"
        )

    def problem(
        self,
        column: str,
        value_column: str,
        header: str,
        advice: str,
        fitting: Sequence[str] | None = None,
    ) -> str:
        """SQL: why the text in ``column`` is no date (``value_column`` NULL), or NULL.

        ``advice`` is the sentence on the --date-format that fits the column;
        ``fitting`` the formats used for it (see ``fitting``).
        """
        fitting = self.formats if fitting is None else fitting
        lo, hi = self.bounds
        head = f"'{header}: ' || {column} || "
        iso_date = f"TRY_CAST(substr({column}, 1, 10) AS DATE)"
        impossible = (
            f"CASE WHEN {iso_date} IS NULL THEN ' is not a possible date (no such day)' "
            f"WHEN {iso_date} < DATE '{lo}' THEN ' is not a possible date (before {lo[:4]})' "
            f"WHEN {iso_date} >= DATE '{hi}' + 1 THEN ' is not a possible date (after {hi}, "
            f"more than {YEARS_AHEAD} years from today)' "
            "ELSE ' is not a date and time (YYYY-MM-DD HH:MM:SS)' END"
        )
        suffix = f" || {_sql_str('; ' + advice)}" if advice else ""
        if self.formats:
            given = " or ".join(self.formats)
            swapped = [
                f"CASE WHEN {self._by_format(column, f, False)} IS NOT NULL THEN ' (read so, its "
                f"day and month are swapped: other rows of the column prove the "
                f"{'month' if day_order(f) == 'dm' else 'day'} comes first)' END"
                for f in self.formats
                if f not in fitting
            ]
            read_so = swapped + [
                f"CASE WHEN {self._by_format(column, f, False)} IS NOT NULL THEN ' (read so, it is ' "
                f"|| strftime({self._by_format(column, f, False)}, '%Y-%m-%d') || ', ' || CASE WHEN "
                f"{self._by_format(column, f, False)} < DATE '{lo}' THEN 'before {lo[:4]}' ELSE "
                f"'more than {YEARS_AHEAD} years from today' END || ')' END"
                for f in fitting
            ]
            not_read = (
                f"' is not in the given --date-format {given}' || "
                f"coalesce({', '.join(read_so)}, '')"
            )
            other = f"' is not a date: neither YYYY-MM-DD nor the given --date-format {given}'"
        else:
            not_read = (
                "' is not written YYYY-MM-DD: dates damaged by a spreadsheet are never guessed'"
            )
            other = "' is not a date (YYYY-MM-DD)'"
        return f"""CASE
            WHEN {column} IS NULL OR {value_column} IS NOT NULL THEN NULL
            WHEN regexp_full_match({column}, {_ISO}) THEN {head}{impossible}
            WHEN regexp_matches({column}, {_NUMERIC}) THEN {head}{not_read}{suffix}
            ELSE {head}{other}
        END"""

    def form_query(self, column: str, table: str) -> str:
        """SQL giving the form of the day-month-year values of ``column``: how many, the
        largest first and second number, the shortest and longest year, the separators."""
        parts = f"regexp_extract({column}, {_NUMERIC}, ['a', 's1', 'b', 's2', 'y'])"
        return f"""
            SELECT count(*), max(CAST(m.a AS INTEGER)), max(CAST(m.b AS INTEGER)),
                   min(length(m.y)), max(length(m.y)), list_distinct(list(m.s1 || m.s2))
            FROM (SELECT {parts} AS m FROM {table} WHERE regexp_matches({column}, {_NUMERIC}))
        """

    def advice(self, form: tuple[object, ...]) -> tuple[str, list[str]]:
        """The sentence naming the --date-format that fits a column of this ``form``, and
        the formats to add when the rows tell (none when they do not)."""
        count, first, second, shortest, longest, separators = form
        if not count:
            return "", []
        seps = sorted(str(s) for s in (separators or []))  # type: ignore[attr-defined]
        if len(seps) != 1 or seps[0][0] != seps[0][1]:
            return (
                "the column's dates use different separators, so no single --date-format reads them",
                [],
            )
        sep = seps[0][0]
        years = [y for y, n in (("%y", 2), ("%Y", 4)) if int(shortest) <= n <= int(longest)]  # type: ignore[call-overload]
        if int(shortest) == 3 or int(longest) == 3:  # type: ignore[call-overload]
            return "the column's years have three digits, which no --date-format reads", []
        day_first, month_first = int(first) > 12, int(second) > 12  # type: ignore[call-overload]
        if day_first and month_first:
            return (
                "the column's dates put the day first in some rows and the month first in others, "
                "so no --date-format reads them all",
                [],
            )
        orders = (
            [f"%d{sep}%m{sep}"]
            if day_first
            else [f"%m{sep}%d{sep}"]
            if month_first
            else [f"%m{sep}%d{sep}", f"%d{sep}%m{sep}"]
        )
        fits = [o + y for o in orders for y in years]
        wanted = [f for f in fits if f not in self.formats]
        # "add" keeps the formats given, which other columns may need; a format that
        # puts day and month the other way round is to be replaced.
        verb = (
            "add"
            if any(day_order(f) == day_order(fits[0]) for f in self.formats)
            else "re-run with"
        )
        if len(orders) == 2:
            month, day = (
                " ".join(f"--date-format {o + y}" for y in years if o + y not in self.formats)
                for o in orders
            )
            return (
                "the rows do not tell whether the day or the month comes first: "
                f"{verb} {month or 'nothing more'} if the month does (as USAspending writes dates), "
                f"{day or 'nothing more'} if the day does",
                [],
            )
        width = "two-digit" if years == ["%y"] else "four-digit" if years == ["%Y"] else "mixed"
        order = "day" if day_first else "month"
        if not wanted:
            return "", []
        return (
            f"the column's dates put the {order} first, with {width} years: "
            f"{verb} {' '.join(f'--date-format {f}' for f in wanted)}",
            wanted,
        )
