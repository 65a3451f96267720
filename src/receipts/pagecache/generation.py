"""The content generation: a token that changes with every write the public could see.

Writes are noticed where they all pass, at the database cursor: an execute
wrapper on every connection reads the statement's verb and table. That sees
``save()``, ``delete()``, many-to-many changes, ``bulk_create``,
``bulk_update``, ``QuerySet.update()`` and the importers' raw SQL alike, none
of which need to know about the cache. The one write path that does not pass
the cursor, COPY on PostgreSQL (``evidence.bulk.insert_rows``), calls
``content_changed`` itself.

The new token is written inside the transaction that made the change, as its
last statement before COMMIT, once per transaction however many rows it wrote:
the change and the token commit together or not at all. A full disk, a lost
connection or any other failure of that write therefore rolls the change back
too, instead of leaving committed content under the old token (stale pages
until they expire). A reader that sees the new token also sees the change; one
that read the old token only ever files its page under the old token, which no
later request asks for.

A write made outside any transaction (autocommit) is committed before the token
can follow it. Should that token write fail, the process changes its own part
of the cache key, so its pages are fresh at once; other server processes catch
up at the next change that commits, or when they restart (the page cache lives
in each process's memory and starts empty).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
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
    "outreach.SubmissionLink",
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


# Connection attributes: its open transaction changed public content; its commit
# and rollback are wrapped; the generation table was found through it.
_OWED = "receipts_content_changed"
_WRAPPED = "receipts_commit_with_token"
_HAS_TABLE = "receipts_generation_table_found"


def _has_table(connection: BaseDatabaseWrapper) -> bool:
    """Whether the generation table exists: not until it is migrated (while ``migrate``
    runs the migrations before it). Checked once per database connection, since a new
    connection may reach another database file (a restore, a test's own file)."""
    if not getattr(connection, _HAS_TABLE, False):
        with connection.cursor() as cursor:
            if _table() not in connection.introspection.table_names(cursor):
                return False
        setattr(connection, _HAS_TABLE, True)
    return True


def _write_token(connection: BaseDatabaseWrapper) -> None:
    """Write a fresh token in one statement (making the row if a flush or a restore took it)."""
    if not _has_table(connection):
        return
    quote = connection.ops.quote_name
    changed_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(_table())} ({quote('id')}, {quote('token')}, "  # noqa: S608 - the model's own table
            f"{quote('changed_at')}) VALUES (1, %s, %s) ON CONFLICT ({quote('id')}) DO UPDATE "
            f"SET {quote('token')} = EXCLUDED.{quote('token')}, "
            f"{quote('changed_at')} = EXCLUDED.{quote('changed_at')}",
            [secrets.token_hex(16), changed_at],
        )


# This process's own part of the cache key: it changes when a token could not be
# written after an autocommitted change, so this process at least serves no stale page.
_process_epoch = secrets.token_hex(4)


def page_token(using: str = DEFAULT_DB_ALIAS) -> str | None:
    """The key under which pages of the current content are filed; None if unreadable."""
    token = current(using)
    return None if token is None else f"{token}.{_process_epoch}"


def _token_not_written(exc: DatabaseError) -> None:
    global _process_epoch
    _process_epoch = secrets.token_hex(4)
    # One line, no traceback: the error itself reaches whoever made the change.
    logger.warning("the content generation could not be moved on (%s)", exc)


def content_changed(table: str | None = None, *, using: str | None = None) -> None:
    """Record that public content changed (in ``table``, if given) on this connection.

    In a transaction the new token is written once, just before it commits, as
    part of it; in autocommit at once. Writes to a private table change nothing.
    """
    _changed_on(connections[using or DEFAULT_DB_ALIAS], table)


def _changed_on(connection: BaseDatabaseWrapper, table: str | None) -> None:
    if table and table in private_tables():
        return
    if connection.in_atomic_block or not connection.get_autocommit():
        setattr(connection, _OWED, True)
        return
    try:
        _write_token(connection)
    except DatabaseError as exc:
        _token_not_written(exc)


def _commit_with_token(connection: BaseDatabaseWrapper) -> None:
    """Make the connection write the owed token inside each transaction, before COMMIT."""
    commit, rollback = connection.commit, connection.rollback

    def commit_with_token() -> None:
        try:
            if getattr(connection, _OWED, False):
                # A failure here fails the commit: the caller (``atomic``) rolls back.
                _write_token(connection)
            commit()
        finally:
            setattr(connection, _OWED, False)

    def rollback_without_token() -> None:
        setattr(connection, _OWED, False)
        rollback()

    connection.commit = commit_with_token  # type: ignore[method-assign]
    connection.rollback = rollback_without_token  # type: ignore[method-assign]
    setattr(connection, _WRAPPED, True)


def _watch_writes(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    table = written_table(sql)
    connection = context["connection"]
    # Statements outside the configured databases (``CREATE DATABASE`` on the
    # server's maintenance database) change no content.
    if table is not None and connection.alias in connections.settings:
        _changed_on(connection, table)
    return result


def watch(connection: BaseDatabaseWrapper) -> None:
    """Notice the writes of this connection, and commit the token with them (idempotent)."""
    setattr(connection, _HAS_TABLE, False)  # a new connection: look again
    if not getattr(connection, _WRAPPED, False):
        _commit_with_token(connection)
    if _watch_writes not in connection.execute_wrappers:
        # First, so ``connection.execute_wrapper()`` blocks, which pop the
        # last wrapper on exit, still remove their own.
        connection.execute_wrappers.insert(0, _watch_writes)


def watch_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver."""
    watch(connection)
