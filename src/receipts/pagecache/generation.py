"""The content generation: a token that changes with every write the public could see.

Writes are noticed where they all pass, at the database cursor: an execute
wrapper on every connection reads the statement's verb and table. That sees
``save()``, ``delete()``, many-to-many changes, ``bulk_create``,
``bulk_update``, ``QuerySet.update()`` and the importers' raw SQL alike, none
of which need to know about the cache. The one write path that does not pass
the cursor, COPY on PostgreSQL (``evidence.bulk.insert_rows``), calls
``content_changed`` itself.

The new token is written when the change commits (``transaction.on_commit``),
once per transaction however many rows it wrote, and never for a transaction
that rolls back. A reader that sees the new token therefore also sees the
change; one that read the old token only ever files its page under the old
token, which no later request asks for.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

logger = logging.getLogger(__name__)

# Writes to these never change what an anonymous reader is shown: sessions,
# two-factor devices and codes, counted login failures (axes), the task
# queue, watchlists and their deliveries, the admin's log, this app's own row;
# users (a login stamps last_login), API tokens (each call stamps
# last_used_at) and supporters' sealed sign-up data, which no public page
# shows. Every other table moves the generation on, so a model added later is
# covered without being listed here.
PRIVATE_APPS = (
    "sessions",
    "otp_totp",
    "accounts",
    "django_tasks_database",
    "watch",
    "admin",
    "pagecache",
    "axes",
)
PRIVATE_MODELS = (
    "auth.User",
    "api.ApiToken",
    "outreach.Supporter",
    "outreach.SupporterKey",
    "outreach.Submission",
    "outreach.ConsentText",
    "outreach.ConsentRecord",
    "outreach.AuditEvent",
    "outreach.RateLimitBucket",
)

# Statements that change no rows. Anything else is a write: an unknown verb
# (DDL, COPY, a driver's own command) counts as a write to an unknown table.
_READ_VERBS = frozenset(
    {
        "SELECT",
        "SAVEPOINT",
        "RELEASE",
        "ROLLBACK",
        "BEGIN",
        "COMMIT",
        "END",
        "PRAGMA",
        "SET",
        "SHOW",
        "EXPLAIN",
        "VALUES",
        "ANALYZE",
        "VACUUM",
    }
)
_VERB = re.compile(r"\s*(\w+)")
_NAME = r'(?:"[^"]+"|`[^`]+`|\w+)'
_TARGET = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    rf"\s+(?:ONLY\s+)?({_NAME}(?:\.{_NAME})?)",
    re.IGNORECASE,
)
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)


def written_table(sql: Any) -> str | None:
    """The table a statement writes: None for a read, "" for a write to a table not named."""
    if not isinstance(sql, str):
        return ""
    verb = _VERB.match(sql)
    if verb is None:
        return None
    word = verb.group(1).upper()
    if word in _READ_VERBS:
        return None
    if word == "WITH":  # a read unless a data-changing statement hides in it
        return "" if _WRITE_WORD.search(sql) else None
    target = _TARGET.match(sql)
    if target is None:
        return ""
    return target.group(1).rsplit(".", 1)[-1].strip('"`')


@functools.cache
def private_tables() -> frozenset[str]:
    tables: set[str] = set()
    for label in PRIVATE_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        tables.update(m._meta.db_table for m in config.get_models(include_auto_created=True))
    for label in PRIVATE_MODELS:
        try:
            tables.add(apps.get_model(label)._meta.db_table)
        except LookupError:
            continue
    return frozenset(tables)


def _table() -> str:
    return apps.get_model("pagecache", "ContentGeneration")._meta.db_table


def current(using: str = DEFAULT_DB_ALIAS) -> str | None:
    """The token now in the database; None if there is none (or no table yet).

    Call it outside a transaction: a failed read would spoil one on PostgreSQL.
    """
    connection = connections[using]
    sql = f"SELECT token FROM {connection.ops.quote_name(_table())} WHERE id = 1"  # noqa: S608 - the model's own table
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    except DatabaseError:
        logger.warning("the content generation could not be read; pages are not cached")
        return None
    return str(row[0]) if row else None


# Databases whose generation table is known to exist: until it is migrated
# (while ``migrate`` runs the migrations before it) there is nothing to move on.
_migrated: set[str] = set()


def _has_table(using: str) -> bool:
    if using not in _migrated:
        connection = connections[using]
        with connection.cursor() as cursor:
            if _table() not in connection.introspection.table_names(cursor):
                return False
        _migrated.add(using)
    return True


def _bump(using: str) -> None:
    """Write a fresh token (creating the row if a flush or a restore took it)."""
    if not _has_table(using):
        return
    model = apps.get_model("pagecache", "ContentGeneration")
    values = {"token": secrets.token_hex(16), "changed_at": timezone.now()}
    rows = model.objects.using(using)
    if rows.filter(pk=1).update(**values):
        return
    try:
        with transaction.atomic(using=using):
            rows.create(pk=1, **values)
    except IntegrityError:  # created meanwhile by another writer
        rows.filter(pk=1).update(**values)


@functools.cache
def _bumper(using: str) -> Callable[[], None]:
    # One callable per database: its identity tells whether a transaction has
    # already scheduled the bump.
    def move_content_generation_on() -> None:
        _bump(using)

    return move_content_generation_on


def content_changed(table: str | None = None, *, using: str | None = None) -> None:
    """Record that public content changed (in ``table``, if given) on this connection.

    Inside a transaction the new token is written once, when it commits; in
    autocommit at once. Writes to a private table change nothing.
    """
    if table and table in private_tables():
        return
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    bump = _bumper(alias)
    if connection.in_atomic_block:
        if not any(entry[1] is bump for entry in connection.run_on_commit):
            connection.on_commit(bump, robust=True)
        return
    # Autocommit: the change is committed already. Under manual transaction
    # management the token joins the open transaction and commits with it.
    try:
        bump()
    except DatabaseError:
        logger.exception("the content generation could not be moved on")


def _watch_writes(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    table = written_table(sql)
    alias = context["connection"].alias
    # Statements outside the configured databases (``CREATE DATABASE`` on the
    # server's maintenance database) change no content.
    if table is not None and alias in connections.settings:
        content_changed(table, using=alias)
    return result


def watch(connection: BaseDatabaseWrapper) -> None:
    """Notice the writes of this connection (idempotent)."""
    if _watch_writes not in connection.execute_wrappers:
        # First, so ``connection.execute_wrapper()`` blocks, which pop the
        # last wrapper on exit, still remove their own.
        connection.execute_wrappers.insert(0, _watch_writes)


def watch_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver."""
    watch(connection)
