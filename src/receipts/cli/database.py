"""Django set-up for the command line, and the schema every database command needs.

A new data folder starts with an empty SQLite database: every command that reads
or writes the database is marked ``@needs_database``, which brings the schema up
to date before the command runs, so no command meets a missing table.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    import django

    django.setup()


def migrate_database() -> None:
    """Apply any migration not yet applied; on an up-to-date database, only read the plan."""
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    call_command("migrate", interactive=False, verbosity=0)


def needs_database(command: F) -> F:
    """Mark a command that touches the database: the schema is brought up to date first.

    Put it below the click decorators, on the function itself, so click reads the
    help text through it.
    """

    @functools.wraps(command)
    def with_database(*args: Any, **kwargs: Any) -> Any:
        migrate_database()
        return command(*args, **kwargs)

    return cast(F, with_database)
