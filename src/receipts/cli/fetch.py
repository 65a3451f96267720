"""``receipts fetch``: contract data from USAspending's API, once or on a schedule."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from receipts.cli.database import needs_database
from receipts.cli.output import print_table

_FETCH_EPILOG = """\b
Exit codes:
  0   fetched and imported (or the subscription saved)
  1   nothing imported: the agency is unknown, the base URL is refused, the
      server refused the request, the job failed or did not finish in time,
      the download failed after its retries, or the zip cannot be read
  75  another import is running, or the database cannot be reached; re-running
      is safe
"""


@click.group("fetch")
def fetch_group() -> None:
    """Fetch records from public APIs: USAspending contracts, once or on a schedule."""


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None


@fetch_group.command("usaspending", epilog=_FETCH_EPILOG)
@click.option(
    "--agency",
    required=True,
    help='Awarding agency by name, abbreviation or code: "U.S. Immigration and Customs '
    'Enforcement", ICE or 7012.',
)
@click.option("--since", help="First action date (YYYY-MM-DD); default a year before --until.")
@click.option("--until", help="Last action date (YYYY-MM-DD); default today.")
@click.option(
    "--every",
    type=click.Choice(["day", "week"]),
    help="Save a subscription instead: the task queue fetches what changed since its "
    "last success, every day or week.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Summary format."
)
@needs_database
def fetch_usaspending_command(
    agency: str, since: str | None, until: str | None, every: str | None, fmt: str
) -> None:
    """Ask USAspending's API for an agency's contracts, download the zip and import it."""
    from receipts.fetch.usaspending_api import resolve_agency

    found = resolve_agency(agency)
    end = _date(until, "--until") or dt.date.today()
    start = _date(since, "--since") or end - dt.timedelta(days=365)
    if start > end:
        raise click.BadParameter(f"{start} is after --until {end}", param_hint="--since")
    if every is not None:
        from receipts.fetch.subscriptions import subscribe
        from receipts.fetch.tasks import schedule_runs

        subscription, created = subscribe(found, every, since=start)
        schedule_runs()
        click.echo(
            f"subscription {subscription.pk}: {subscription.agency_name}, every {every} "
            f"({'saved' if created else 'already saved, updated'}); first run "
            f"{subscription.next_run_at:%Y-%m-%d %H:%M} UTC, by the task queue "
            "(receipts db_worker) or `receipts fetch run`"
        )
        return
    result = _fetch_with_progress(found, start, end, fmt)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)


def _fetch_with_progress(agency: Any, start: dt.date, end: dt.date, fmt: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from receipts.fetch.services import fetch_usaspending
    from receipts.fetch.usaspending_api import Status, UsaspendingApi

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    quiet = fmt == "json" and not console.is_terminal
    say = (lambda text: None) if quiet else (lambda text: console.print(text, highlight=False))
    last_status: list[str] = []

    def on_status(state: Status) -> None:
        line = f"job {state.raw.get('file_name', '')}: {state.status}"
        if state.seconds_elapsed:
            line += f" ({float(state.seconds_elapsed):.0f} s)"
        if state.status == "finished" and state.total_rows is not None:
            line += f", {state.total_rows:,} rows"
        if [line] != last_status:  # one line per change, not per poll
            say(line)
            last_status[:] = [line]

    def on_retry(why: str, pause: float) -> None:
        say(f"{why}; trying again in {pause:g} s")

    with Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as download_bar:
        task: list[Any] = []

        def on_bytes(done: int, total: int | None) -> None:
            if not task:
                task.append(download_bar.add_task("downloading", total=total))
            download_bar.update(task[0], completed=done, total=total)

        api = UsaspendingApi(on_status=on_status, on_bytes=on_bytes, on_retry=on_retry)
        import_bar = Progress(
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
        )
        phases: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if not phases:
                download_bar.stop()
                import_bar.start()
            if phase not in phases:
                phases[phase] = import_bar.add_task(phase, total=total)
            import_bar.update(phases[phase], completed=done, total=total)

        say(f"asking {api.base_url} for {agency.name}'s contracts, {start} to {end}")
        try:
            return fetch_usaspending(
                agency,
                start,
                end,
                api=api,
                progress=progress,
                on_job=lambda job: say(f"job {job.file_name}: accepted"),
            )
        finally:
            if phases:
                import_bar.stop()


@fetch_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@needs_database
def fetch_status_command(fmt: str) -> None:
    """List subscriptions: agency, schedule, last success, rows, next run, last error."""
    from receipts.fetch.subscriptions import subscription_records

    records = subscription_records()
    if fmt == "json":
        click.echo(json.dumps({"subscriptions": records}, indent=2))
        return
    if not records:
        click.echo(
            "No subscriptions. Add one with: receipts fetch usaspending --agency ICE --every day"
        )
        return
    rows = [
        [
            str(r["id"]),
            r["agency"],
            r["every"],
            (r["last_success_at"] or "never")[:16],
            "" if r["last_rows"] is None else f"{r['last_rows']:,}",
            (r["next_run_at"] or "")[:16],
            r["last_error"],
        ]
        for r in records
    ]
    columns = ("Id", "Agency", "Every", "Last success", "Rows", "Next run", "Last error")
    print_table("USAspending subscriptions", columns, rows, sys.stdout)


@fetch_group.command("run")
@needs_database
def fetch_run_command() -> None:
    """Run every subscription that is due now, without the task queue."""
    from receipts.fetch.subscriptions import run_due

    for line in run_due():
        click.echo(line)


@fetch_group.command("calendar")
@click.option("--date", "day", help="Run as of this day (YYYY-MM-DD); default today.")
@needs_database
def fetch_calendar_command(day: str | None) -> None:
    """The daily pass the task queue runs: end contract ties whose contracts ran out,
    and record contract_ending warnings for watchlists."""
    from receipts.fetch.tasks import run_calendar, schedule_calendar

    result = run_calendar(_date(day, "--date"))
    schedule_calendar()
    click.echo(
        f"contract ties: {result['ended']} ended, {result['reopened']} reopened "
        f"(of {result['pairs']} pairs whose contracts all ran out); "
        f"{result['warnings']} contract_ending warnings recorded"
    )


def register(cli: click.Group) -> None:
    """Add the fetch commands to the ``receipts`` command."""
    cli.add_command(fetch_group)
