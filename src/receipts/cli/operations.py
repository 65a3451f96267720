"""Running the site: the demo, serving, backups and restores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from receipts.cli.database import needs_database

F = TypeVar("F", bound=Callable[..., Any])


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from receipts.serve import serve

    click.echo(f"Receipts is serving on http://{host}:{port}/  (Ctrl-C stops it)")
    serve(host, port, workers, threads)


_serve_options = [
    click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on."),
    click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535)),
    click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64)),
    click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64)),
]


def serve_options(func: F) -> F:
    for option in reversed(_serve_options):
        func = option(func)
    return func


@click.command()
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
@serve_options
@needs_database
def demo(no_serve: bool, host: str, port: int, workers: int, threads: int) -> None:
    """Load the demo data (idempotently) and serve the site."""
    from django.conf import settings

    from receipts.demo import demo_organiser_link, load_demo

    counts = load_demo()
    db = settings.DATABASES["default"]
    where = db["NAME"] if "sqlite" in db["ENGINE"] else f"{db['ENGINE']} {db.get('NAME')}"
    click.echo(
        f"Demo loaded into {where}: {counts['entities']} entities, {counts['ties']} ties, "
        f"{counts['sources']} source; {counts['campaigns']} campaigns: the coalition's with "
        f"{counts['campaign_demands']} demands ({counts['campaign_demands_met']} met), "
        f"{counts['campaign_actions']} actions, {counts['campaign_coalition']} coalition "
        f"members, {counts['campaign_goals']} goal (an example), and the publisher's donor "
        f"drive with {counts['publisher_goals']} cited goal; {counts['outreach_forms']} sign-up "
        f"form, {counts['outreach_flyers']} flyer (/f/seattle-rally)."
    )
    # A wildcard address listens everywhere; the link names this machine.
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    link = demo_organiser_link(f"http://{shown_host}:{port}")
    click.echo(f"Log in as the demo campaign's organiser (works once, for 15 minutes): {link}")
    if not no_serve:
        _serve(host, port, workers, threads)


@click.command()
@serve_options
@needs_database
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the site on an existing database (migrating it first)."""
    _serve(host, port, workers, threads)


# --- backups ------------------------------------------------------------------------


@click.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The backup file to write.",
)
def backup_command(output: Path) -> None:
    """Back up the database (not the archived files, not the outreach keys) to a file."""
    from receipts.backup import backup_database

    click.echo(backup_database(output), err=True)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(file: Path, force: bool) -> None:
    """Restore the database from a backup FILE, all or nothing; stop the site first."""
    from receipts.backup import restore_database

    click.echo(restore_database(file, force=force), err=True)


def register(cli: click.Group) -> None:
    """Add the demo, serve, backup and restore commands to the ``receipts`` command."""
    for command in (
        demo,
        serve,
        backup_command,
        restore_command,
    ):
        cli.add_command(command)
