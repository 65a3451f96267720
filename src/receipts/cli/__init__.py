"""The ``receipts`` command line: ``receipts <verb> [object]``.

Commands parse arguments, call a service or query and print. Errors are one
line on stderr with a non-zero exit code (2 for a name that does not resolve,
65 for an import whose file had every row rejected, 74 for a full disk: free some space and run the command again, 75 for a
database server that went away or cannot be reached, or an import already
running: run the command again once it is back or finished); ``--debug`` shows
the traceback. Any verb not defined here is handed to Django's management
commands (``receipts migrate``, ``receipts createsuperuser``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from receipts.cli import (
    campaigns,
    captures,
    evidence,
    fetch,
    ingest,
    operations,
    outreach,
    screening,
    tokens,
    watch,
)
from receipts.cli.database import setup_django
from receipts.cli.errors import (
    EXIT_DATABASE_GONE,
    EXIT_DISK_FULL,
    EXIT_ERROR,
    database_gone,
    disk_full,
)


class ReceiptsGroup(click.Group):
    """A click group that hands unknown verbs to Django's management commands."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found

        @click.command(
            name=cmd_name,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
            add_help_option=False,
        )
        @click.pass_context
        def django_command(inner: click.Context) -> None:
            from django.core.management import execute_from_command_line

            execute_from_command_line(["receipts", cmd_name, *inner.args])

        return django_command

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (``receipts ties X | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # one clear line, not a traceback
            if debug:
                raise
            from django.core.exceptions import ValidationError

            full = disk_full(exc)
            if full is not None:
                click.echo(f"Error: {full}", err=True)
                ctx.exit(EXIT_DISK_FULL)
            gone = database_gone(exc)
            if gone is not None:
                click.echo(f"Error: {gone}", err=True)
                ctx.exit(EXIT_DATABASE_GONE)
            if isinstance(exc, ValidationError):
                message = "; ".join(exc.messages)
            else:
                message = str(exc) or exc.__class__.__name__
            click.echo(f"Error: {message}", err=True)
            ctx.exit(getattr(exc, "exit_code", EXIT_ERROR))


@click.group(cls=ReceiptsGroup)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RECEIPTS_DATA_DIR",
    help="Folder for the SQLite database and archived files (default ./receipts-data).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="receipts")
def main(data_dir: Path | None, debug: bool) -> None:
    """Receipts: ties between companies and government agencies, with receipts."""
    if data_dir is not None:
        os.environ["RECEIPTS_DATA_DIR"] = str(data_dir)
    setup_django()


for _commands in (
    evidence,
    ingest,
    fetch,
    captures,
    campaigns,
    outreach,
    screening,
    watch,
    tokens,
    operations,
):
    _commands.register(main)
