"""Interchange and ingest commands: FollowTheMoney export and import, USAspending
imports, and the review queue of possible duplicates with its merges."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from receipts.cli.database import needs_database
from receipts.cli.errors import NameError_
from receipts.cli.output import print_table

F = TypeVar("F", bound=Callable[..., Any])


# --- export and import ------------------------------------------------------------


@click.group("export")
def export_group() -> None:
    """Write the evidence out in an interchange format."""


@export_group.command("ftm")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    help="Output file (default stdout); it appears whole or, on any error, not at all.",
)
@needs_database
def export_ftm_command(output: Path) -> None:
    """Write every entity, tie, source and contract record as FollowTheMoney JSON lines."""
    from receipts.interchange.followthemoney.evidence import export_ftm, export_ftm_file

    if str(output) == "-":
        export_ftm(sys.stdout)
        return
    try:
        count = export_ftm_file(output)
    except OSError as exc:
        raise click.ClickException(f"{output}: {exc.strerror or exc}; nothing written") from exc
    click.echo(f"wrote {count} FollowTheMoney entities to {output}", err=True)


@click.group("import")
def import_group() -> None:
    """Read evidence in from files, one import at a time."""


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        is_flag=True,
        help="When another import is running, wait for it to finish instead of stopping "
        "with exit code 75.",
    )(func)


def _one_import_at_a_time(importer: str, wait: bool) -> Any:
    """The import lock, taken before migrating: the holder runs alone from start to end."""
    from receipts.ingest.import_lock import Holder, import_lock

    def waiting(holder: Holder) -> None:
        click.echo(f"waiting for the import running{holder.describe()} to finish", err=True)

    return import_lock(importer, wait=wait, on_wait=waiting)


@import_group.command("ftm")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@wait_option
def import_ftm_command(file: IO[str], wait: bool) -> None:
    """Read FollowTheMoney JSON lines from FILE (or - for stdin); all or nothing."""
    with _one_import_at_a_time("ftm", wait):
        summary = _import_ftm(file)
    click.echo(summary.describe())


@needs_database  # inside the import lock: one import migrates at a time
def _import_ftm(file: IO[str]) -> Any:
    from receipts.interchange.followthemoney.evidence import import_ftm

    return import_ftm(file, name=getattr(file, "name", "-"))


_USASPENDING_EPILOG = """\b
Exit codes:
  0   imported; rows that were rejected (if any) are listed in the report
  1   nothing imported: a file or zip cannot be read (truncated, damaged, not
      UTF-8, without its header or required columns, not a USAspending
      contract file), or a --date-format is not a date format
  2   nothing imported: the command line is wrong (unknown option, no such path)
  65  nothing imported: every row of a file was rejected (the error names the
      first row and field and suggests the --date-format that fits; the report
      lists every row)
  74  the disk is full; batches committed before it stay whole, re-run once
      space is freed
  75  the database cannot be reached or went away, or another import is
      running (add --wait to wait for it); re-running is safe
"""


@import_group.command("usaspending", epilog=_USASPENDING_EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--date-format",
    "date_formats",
    multiple=True,
    help="How dates damaged by a spreadsheet are written, e.g. %d/%m/%Y; repeat it for "
    "columns written differently (%d/%m/%y). Without it such dates are refused, never "
    "guessed.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected rows (CSV).",
)
@click.option(
    "--batch-size", default=50_000, show_default=True, type=click.IntRange(100, 1_000_000)
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Summary format."
)
@wait_option
def import_usaspending_command(
    paths: tuple[Path, ...],
    date_formats: tuple[str, ...],
    report: Path | None,
    batch_size: int,
    fmt: str,
    wait: bool,
) -> None:
    """Import USAspending contract downloads: CSV files, zips or folders of them."""
    with _one_import_at_a_time("usaspending", wait):
        _import_usaspending(paths, date_formats, report, batch_size, fmt)


@needs_database  # inside the import lock: one import migrates at a time
def _import_usaspending(
    paths: tuple[Path, ...],
    date_formats: tuple[str, ...],
    report: Path | None,
    batch_size: int,
    fmt: str,
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from receipts.ingest.usaspending.importer import AllRowsRejected, import_usaspending

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    columns = [
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    ]
    # Away from a terminal (a log, a pipe) progress is plain lines instead of a bar: one
    # as each step starts, and one per committed batch of the steps that store rows.
    as_lines = fmt != "json" and not console.is_terminal
    with Progress(
        *columns,
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}
        started: dict[str, float] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            import time

            if as_lines:
                _progress_line(phase, done, total, first=phase not in tasks)
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total, rate="")
                started[phase] = time.perf_counter()
            elapsed = time.perf_counter() - started[phase]
            rate = (
                f"{done / elapsed:,.0f} rows/s"
                if phase.startswith("storing") and elapsed > 0
                else ""
            )
            bar.update(tasks[phase], completed=done, total=total, rate=rate)

        try:
            summary = import_usaspending(
                list(paths),
                date_format=date_formats,
                report_path=report,
                batch_size=batch_size,
                progress=progress,
            )
        except AllRowsRejected as exc:
            # What each file held, then the error line (and its exit code) as for any error.
            if fmt == "json":
                click.echo(json.dumps({**exc.summary.as_dict(), "error": str(exc)}, indent=2))
            else:
                for line in exc.summary.file_lines():
                    click.echo(line)
            raise
    if fmt == "json":
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        for line in summary.lines():
            click.echo(line)


def _progress_line(phase: str, done: int, total: int | None, *, first: bool) -> None:
    """A step of an import as a line on stderr: ``storing transactions: started``,
    then ``storing transactions: 300 of 1,000`` after each batch it commits."""
    if first:
        click.echo("done" if phase == "done" else f"{phase}: started", err=True)
    elif phase.startswith("storing ") and total:
        click.echo(f"{phase}: {done:,} of {total:,}", err=True)


# --- review queue and merges ------------------------------------------------------


def _review_record(item: Any) -> dict[str, Any]:
    return {
        "id": item.pk,
        "entity": {"name": item.entity.name, "slug": item.entity.slug},
        "candidate": {"name": item.candidate.name, "slug": item.candidate.slug},
        "score": round(item.score, 1),
        "reason": item.reason,
        "created_at": item.created_at.isoformat(),
    }


def _merge_record(merge: Any) -> dict[str, Any]:
    return {
        "id": merge.pk,
        "keep": {"name": merge.keep.name, "slug": merge.keep.slug},
        "dropped": {"name": merge.dropped.name, "slug": merge.dropped.slug},
        "reason": merge.reason,
        "decided_by": merge.decided_by.get_username() if merge.decided_by else None,
        "merged_at": merge.merged_at.isoformat(),
        "undone_at": merge.undone_at.isoformat() if merge.undone_at else None,
        "undone_by": merge.undone_by.get_username() if merge.undone_by else None,
        "moved": {k: len(v) for k, v in merge.moved.items()},
    }


def _review_item(item_id: int) -> Any:
    from receipts.ingest.models import ReviewItem

    item = ReviewItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NameError_(f"no review item {item_id}")
    return item


_review_format = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table"
)
_review_output = click.option(
    "-o", "--output", type=click.File("w"), default="-", help="Output file (default stdout)."
)


@click.group("review", invoke_without_command=True)
@_review_format
@_review_output
@click.pass_context
def review_group(ctx: click.Context, fmt: str, output: IO[str]) -> None:
    """Possible duplicates found by name: list them, merge or keep apart, undo merges."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(review_list, fmt=fmt, output=output)


@review_group.command("list")
@_review_format
@_review_output
@needs_database
def review_list(fmt: str, output: IO[str]) -> None:
    """List pending review items: the new entity, the look-alike it may be, the score."""
    from receipts.ingest.queries import pending_review_items

    records = [_review_record(item) for item in pending_review_items()]
    if fmt == "json":
        json.dump({"pending": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    if not records:
        click.echo("No review items are pending.", file=output)
        return
    rows = [
        [
            str(r["id"]),
            f"{r['entity']['name']} ({r['entity']['slug']})",
            f"{r['candidate']['name']} ({r['candidate']['slug']})",
            f"{r['score']:.0f}",
            r["reason"],
        ]
        for r in records
    ]
    columns = ("Id", "New entity", "Candidate", "Score", "Reason")
    print_table(f"{len(records)} pending review items", columns, rows, output)


@review_group.command("merge")
@click.argument("item_id", metavar="ID", type=int)
@needs_database
def review_merge(item_id: int) -> None:
    """Merge the new entity of review item ID into its candidate."""
    from receipts.ingest.merges import decide_review

    item = _review_item(item_id)
    merge = decide_review(item, merge=True, decided_by=None)
    assert merge is not None
    click.echo(
        f"merge {merge.pk}: {merge.dropped.name} merged into {merge.keep.name} "
        f"(undo with: receipts review unmerge {merge.pk})"
    )


@review_group.command("distinct")
@click.argument("item_id", metavar="ID", type=int)
@needs_database
def review_distinct(item_id: int) -> None:
    """Keep the two entities of review item ID apart."""
    from receipts.ingest.merges import decide_review

    item = _review_item(item_id)
    decide_review(item, merge=False, decided_by=None)
    click.echo(f"review item {item.pk}: {item.entity.name} and {item.candidate.name} kept apart")


@review_group.command("unmerge")
@click.argument("merge_id", metavar="MERGE_ID", type=int)
@needs_database
def review_unmerge(merge_id: int) -> None:
    """Undo merge MERGE_ID: what moved goes back and the dropped entity returns."""
    from receipts.ingest.merges import unmerge
    from receipts.ingest.models import EntityMerge

    merge = EntityMerge.objects.filter(pk=merge_id).first()
    if merge is None:
        raise NameError_(f"no merge {merge_id}")
    unmerge(merge, decided_by=None)
    click.echo(f"merge {merge.pk} undone: {merge.dropped.name} stands apart from {merge.keep.name}")


@review_group.command("log")
@_review_format
@_review_output
@needs_database
def review_log(fmt: str, output: IO[str]) -> None:
    """List merges, newest first, with what moved and whether they were undone."""
    from receipts.ingest.queries import merge_log

    records = [_merge_record(m) for m in merge_log()]
    if fmt == "json":
        json.dump({"merges": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    if not records:
        click.echo("No merges yet.", file=output)
        return
    rows = [
        [
            str(r["id"]),
            f"{r['dropped']['name']} → {r['keep']['name']}",
            r["merged_at"][:16],
            r["decided_by"] or "",
            r["undone_at"][:16] if r["undone_at"] else "",
            r["reason"],
        ]
        for r in records
    ]
    print_table("Merges", ("Id", "Merged", "When", "By", "Undone", "Reason"), rows, output)


def register(cli: click.Group) -> None:
    """Add the export, import and review commands to the ``receipts`` command."""
    for command in (
        export_group,
        import_group,
        review_group,
    ):
        cli.add_command(command)
