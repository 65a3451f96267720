"""The screen command: a CSV of holdings or vendors checked against the evidence."""

from __future__ import annotations

import os
import sys
from typing import IO

import click

from receipts.cli.database import needs_database


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--profile",
    "profile_slug",
    default=None,
    help="Screening profile (slug); default: dhs, DHS with its components.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
@needs_database
def screen(file: str, profile_slug: str | None, fmt: str, output: IO[str]) -> None:
    """Screen a CSV of holdings or vendors (FILE, or - for stdin) against the evidence.

    Columns are found by their headers: ticker, ISIN, CUSIP, LEI, name, UEI,
    DUNS, and value or weight. Each line is flagged, possible, clear or not
    found, with the ties behind it; nothing is printed unless the whole file
    is read.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from receipts.screening import report as screening_report
    from receipts.screening.queries import profile_spec
    from receipts.screening.screen import screen_file

    spec = profile_spec(profile_slug)
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    display = "stdin" if file == "-" else file
    size = None if file == "-" else os.path.getsize(file)
    with (
        click.open_file(file, "rb") as stream,
        Progress(
            TextColumn("screening {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[lines]:,} lines"),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # gone when done: an error stays one line
            disable=not console.is_terminal,
        ) as bar,
    ):
        task = bar.add_task(display, total=size, lines=0)

        def progress(done: int, total: int | None, lines: int) -> None:
            bar.update(task, completed=done, total=total, lines=lines)

        result = screen_file(stream, display, spec, size=size, progress=progress)
    if fmt == "json":
        screening_report.write_json(result, output)
    elif fmt == "csv":
        screening_report.write_csv(result, output)
    else:
        screening_report.print_table(result, output)
    if fmt != "table":
        click.echo(screening_report.summary_text(result), err=True)


def register(cli: click.Group) -> None:
    """Add the screen command to the ``receipts`` command."""
    for command in (screen,):
        cli.add_command(command)
