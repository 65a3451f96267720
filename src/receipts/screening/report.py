"""A screening report as JSON, CSV or a terminal table.

JSON holds every line with its status (flagged, possible, clear or
not_found), match, reason, ties (path, status, dates, agency, contract
obligations, first receipts and how many there are) and obligations per
agency; the counts (lines in the file, header and empty lines, lines
screened, each status); ``shares``, each named by its basis: the share
flagged of the value (or weight) of the lines screened and of the lines
matched, and the share possible (null when no line has a value or weight,
with ``share_note`` saying why); ``flagged_value_share`` is the first of
them. CSV is one row per line with a summary of the reasons. The table lists
every line of a short file; for a long one, the flagged and possible lines,
saying how many clear and not-found lines it leaves to the CSV.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import IO, Any, Protocol

from receipts import spreadsheet

from .flags import EntityFinding
from .reading import FIELDS
from .screen import (
    CLEAR,
    FLAGGED,
    NOT_FOUND,
    STATUS_LABELS,
    STATUSES,
    ScreenedLine,
    ScreeningReport,
)

# Above this many lines the table leaves clear lines out, and it never lists more
# than TABLE_MAX_ROWS (rendering a table costs about a millisecond a row); it
# says what it left out, and CSV and JSON list every line.
TABLE_ALL_LINES = 500
TABLE_MAX_ROWS = 1000
# Longer reports are written as compact JSON: Python's fast encoder does no indenting.
JSON_INDENT_LINES = 1000

CSV_COLUMNS = [
    "line",
    "status",
    *FIELDS,
    "matched_entity",
    "matched_slug",
    "matched_by",
    "reason",
    "ties",
    "agencies",
    "total_obligated",
]


def dollars(cents: int | None) -> str | None:
    """Cents as a dollar figure with two decimals, exactly."""
    if cents is None:
        return None
    return f"{Decimal(cents) / 100:.2f}"


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _finding_record(found: EntityFinding) -> dict[str, Any]:
    return {
        "name": found.name,
        "slug": found.slug,
        "url": f"/entities/{found.slug}/",
        "flagged": found.flagged,
    }


def _ties_record(found: EntityFinding) -> list[dict[str, Any]]:
    return [
        {
            "path": t.path,
            "kind": t.kind,
            "status": t.status,
            "start_date": t.start_date or None,
            "end_date": t.end_date or None,
            "summary": t.summary,
            "agency": {"name": t.agency_name, "slug": t.agency_slug},
            "obligated": dollars(t.obligated_cents),
            "url": f"/ties/{t.tie_id}/",
            "receipt_count": t.receipt_count,
            "receipts": [
                {
                    "source": r.title,
                    "publisher": r.publisher,
                    "published": r.published or None,
                    "url": r.url or None,
                    "locator": r.locator,
                    "quote": r.quote,
                }
                for r in t.receipts
            ],
        }
        for t in found.ties
    ]


def line_record(line: ScreenedLine) -> dict[str, Any]:
    found = line.finding
    record: dict[str, Any] = {
        "line": line.input.line,
        "status": line.status,
        "input": dict(line.input.raw),
        "value": _number(line.input.value),
        "weight": _number(line.input.weight),
        "matched_by": line.matched_by or None,
        "entity": _finding_record(found) if found is not None else None,
        "reason": line.reason,
        "ties": _ties_record(found) if found is not None and line.status == FLAGGED else [],
        "obligations_by_agency": (
            {k: dollars(v) for k, v in found.obligated_by_agency.items()}
            if found is not None and line.status == FLAGGED
            else {}
        ),
        "total_obligated": (
            dollars(found.obligated_cents) if found is not None and line.status == FLAGGED else None
        ),
        "candidates": [
            {
                **_finding_record(c.finding),
                "how": c.how,
                "score": None if c.score is None else round(c.score, 1),
                "ties": _ties_record(c.finding),
            }
            for c in line.candidates
        ],
        "problems": list(line.input.problems),
    }
    return record


def report_record(report: ScreeningReport) -> dict[str, Any]:
    return {
        "file": report.file,
        "profile": report.profile.as_dict(),
        "columns": report.columns.used,
        "unused_columns": list(report.columns.unused),
        "delimiter": report.delimiter,
        "encoding": report.encoding,
        "counts": report.counts,
        "share_basis": report.share_basis,
        "shares": {
            "basis": report.share_basis,
            "flagged_of_lines_screened": report.flagged_value_share,
            "flagged_of_lines_matched": report.flagged_share_of_matched,
            "possible_of_lines_screened": report.possible_value_share,
        },
        "flagged_value_share": report.flagged_value_share,
        "possible_value_share": report.possible_value_share,
        "share_note": report.share_note,
        "seconds": round(report.seconds, 3),
        "lines": [line_record(line) for line in report.lines],
    }


def write_json(report: ScreeningReport, output: TextSink) -> None:
    """The report as one JSON document; indented unless it is long."""
    indent = 2 if len(report.lines) <= JSON_INDENT_LINES else None
    output.write(json.dumps(report_record(report), indent=indent, ensure_ascii=False))
    output.write("\n")


def _agencies_text(found: EntityFinding | None) -> str:
    if found is None or not found.flagged:
        return ""
    names = dict.fromkeys(t.agency_name for t in found.ties)
    return "; ".join(names)


class TextSink(Protocol):
    """Anything with ``write(str)``: a file, stdout, an HttpResponse."""

    def write(self, text: str, /) -> Any: ...


def write_csv(report: ScreeningReport, output: TextSink) -> None:
    """One row per line, in the order of the file."""
    writer = spreadsheet.writer(output)
    writer.writerow(CSV_COLUMNS)
    for line in report.lines:
        found = line.finding
        flagged = found is not None and line.status == FLAGGED
        raw = line.input.raw
        writer.writerow(
            [
                line.input.line,
                line.status,
                *(raw.get(f, "") for f in FIELDS),
                found.name if found is not None else "",
                found.slug if found is not None else "",
                line.matched_by,
                line.reason,
                len(found.ties) if flagged and found is not None else "",
                _agencies_text(found) if flagged else "",
                (dollars(found.obligated_cents) or "") if flagged and found is not None else "",
            ]
        )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def lines_text(report: ScreeningReport) -> str:
    """Lines in the file set beside lines screened: "8 lines in the file (1 header line), 7 screened"."""
    c = report.counts
    parts = [_plural(c["header_lines"], "header line")]
    if c["blank_lines_skipped"]:
        parts.append(f"{c['blank_lines_skipped']:,} empty")
    text = f"{_plural(c['lines_in_file'], 'line')} in the file ({', '.join(parts)}), "
    text += f"{c['lines']:,} screened"
    if c["records_spanning_lines"]:
        text += f" ({c['records_spanning_lines']:,} of them span lines)"
    return text


def shares_text(report: ScreeningReport) -> str:
    """The shares, each with its basis: "flagged: 63.2% of the value of lines screened, ..."."""
    if report.flagged_value_share is None:
        return report.share_note
    basis = report.share_basis
    text = f"flagged: {report.flagged_value_share:.1%} of the {basis} of lines screened"
    if report.flagged_share_of_matched is not None:
        text += f", {report.flagged_share_of_matched:.1%} of the {basis} of lines matched"
    if report.possible_value_share:
        text += f"; possible: {report.possible_value_share:.1%} of the {basis} of lines screened"
    return f"{text} ({report.share_note})"


def summary_text(report: ScreeningReport) -> str:
    """Lines, counts and the shares flagged, in one line."""
    c = report.counts
    statuses = ", ".join(f"{c[s]:,} {STATUS_LABELS[s]}" for s in STATUSES)
    return (
        f"{lines_text(report)} against {report.profile.name!r}: {statuses}; {shares_text(report)}"
    )


def print_table(report: ScreeningReport, output: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=output, width=None if output.isatty() else 160)
    shown = report.lines
    if len(report.lines) > TABLE_ALL_LINES:
        shown = [line for line in report.lines if line.status not in (CLEAR, NOT_FOUND)]
    shown = shown[:TABLE_MAX_ROWS]
    left_out = len(report.lines) - len(shown)
    with_totals = any(
        line.finding is not None and line.status == FLAGGED and line.finding.obligated_cents
        for line in report.lines
    )
    table = Table(title=f"Screening of {report.file}", show_lines=True)
    columns = ["Line", "Holding or vendor", "Status", "Matched", "Why"]
    for column in columns + (["Obligated (USD)"] if with_totals else []):
        table.add_column(column, overflow="fold")
    for line in shown:
        found = line.finding
        matched = ""
        if found is not None:
            matched = f"{found.name} (by {line.matched_by})"
        elif line.candidates:
            matched = "may be " + " or ".join(c.finding.name for c in line.candidates)
        status = STATUS_LABELS[line.status]
        row = [str(line.input.line), line.input.label, status, matched, line.reason]
        if with_totals:
            obligated = ""
            if found is not None and line.status == FLAGGED and found.obligated_cents is not None:
                by_agency = found.obligated_by_agency
                obligated = "; ".join(f"{k}: {dollars(v)}" for k, v in by_agency.items())
            row.append(obligated)
        table.add_row(*row)
    if shown:
        console.print(table)
    if left_out:
        listed = {status: 0 for status in STATUSES}
        for line in shown:
            listed[line.status] += 1
        missing = ", ".join(
            f"{report.counts[status] - listed[status]:,} {STATUS_LABELS[status]}"
            for status in STATUSES
            if report.counts[status] > listed[status]
        )
        console.print(
            f"{left_out:,} lines are not listed here ({missing}); "
            "--format csv or json lists every line."
        )
    console.print(summary_text(report))
    if report.columns.unused:
        console.print("Columns not used: " + ", ".join(report.columns.unused))
