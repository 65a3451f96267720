"""Backups of the database, and restoring one: all or nothing, never over data by accident.

A backup holds the database alone, in an owner-only (0600) file. On SQLite it is a copy made with SQLite's
online backup API (``sqlite3.Connection.backup``), consistent while the site
runs, written as one self-contained SQLite file; on PostgreSQL it is
``pg_dump --format=custom`` of the configured database. A backup does not hold
the archived copies of sources (``ARCHIVE_DIR``: files named by the SHA-256 of
their content, safe to copy with any file tool at any time) nor the outreach
keys and the login keyring (``OUTREACH_KEY_DIR``, ``RECEIPTS_OUTREACH_KEY_*``,
``RECEIPTS_LOGIN_KEYS``). Supporter data and authenticator keys in the backup
are sealed, recovery codes and sessions kept only as digests, and the keys are
kept apart from it on purpose: whoever holds a database backup must not also
hold its keys, nor find in it anything that logs in.

Restoring checks the file first and trusts nothing in it: it must be whole
and hold exactly the schema the migrations make, no extra trigger, view, table
or column (``receipts.restore_checks``). It refuses a database that already
holds data unless forced, and changes nothing unless the whole backup goes in: on SQLite
the backup is copied to a temporary file beside the database and renamed over
it in one step (the site must be stopped, so that no writer holds the old
file); on PostgreSQL one transaction runs the archive's checked schema
statements and copies its rows in (``pg_restore`` only reads the archive).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from receipts.postgresql_client import ClientProgramMissing, connection_args, postgresql_program
from receipts.private_files import PRIVATE_FILE, new_dirs_private

# Tables that ``migrate`` fills by itself: rows there are not data.
SCHEMA_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and where."""


def _default_database() -> Mapping[str, Any]:
    from django.db import connections

    return connections["default"].settings_dict


def _vendor(database: Mapping[str, Any]) -> str:
    engine = database["ENGINE"]
    if "sqlite" in engine:
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupError(f"backups of {engine} databases are not supported")


def _close_django_connections() -> None:
    """Django's own connection must not hold the old database open across a restore."""
    from django.db import connections

    connections.close_all()


def backup_database(output: Path, database: Mapping[str, Any] | None = None) -> str:
    """Write a backup of the database to ``output``; returns a one-line description."""
    database = database or _default_database()
    output = Path(output)
    if _vendor(database) == "sqlite":
        _backup_sqlite(Path(database["NAME"]), output)
    else:
        _backup_postgresql(database, output)
    return f"{_vendor(database)} backup of {database['NAME']} written to {output}"


def verify_backup(path: Path, database: Mapping[str, Any] | None = None) -> None:
    """Raise BackupError unless ``path`` is a whole, readable backup for this kind of database."""
    database = database or _default_database()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    if _vendor(database) == "sqlite":
        _verify_sqlite(path)
    else:
        _verify_postgresql(path, database)


def database_has_data(database: Mapping[str, Any] | None = None) -> bool:
    """Whether any table, other than those ``migrate`` fills, holds a row."""
    database = database or _default_database()
    if _vendor(database) == "sqlite":
        path = Path(database["NAME"])
        if not path.exists():
            return False
        with _sqlite_readonly(path) as conn:
            return _sqlite_has_data(conn)
    return _postgresql_has_data(database)


def restore_database(
    path: Path, database: Mapping[str, Any] | None = None, *, force: bool = False
) -> str:
    """Replace the database with the backup at ``path``; returns a one-line description."""
    database = database or _default_database()
    path = Path(path)
    verify_backup(path, database)
    if not force and database_has_data(database):
        raise BackupError(
            f"the database {database['NAME']} already holds data; "
            "restore with --force to replace it"
        )
    _close_django_connections()
    if _vendor(database) == "sqlite":
        _restore_sqlite(path, Path(database["NAME"]))
    else:
        _restore_postgresql(path, database)
    _close_django_connections()
    return f"{_vendor(database)} database {database['NAME']} restored from {path}"


# --- SQLite ---------------------------------------------------------------------------


@contextmanager
def _sqlite_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _sqlite_has_data(conn: sqlite3.Connection) -> bool:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        if name not in SCHEMA_TABLES
    ]
    # Table names come from the database's own catalogue, quoted as identifiers.
    quoted = ('"' + name.replace('"', '""') + '"' for name in tables)
    return any(
        conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()  # noqa: S608
        for name in quoted
    )


def _sqlite_check(conn: sqlite3.Connection, where: Path) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"{where}: the database is damaged ({'; '.join(result[:3])})")
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'"
    ).fetchone()
    if found is None:
        raise BackupError(f"{where}: not a Receipts database (it has no django_migrations table)")


def _verify_sqlite(path: Path, where: Path | None = None) -> None:
    """Integrity, foreign keys and the exact migrated schema; ``where`` names the file in errors."""
    from receipts.restore_checks import SchemaError, check_sqlite_file

    where = where or path
    try:
        check_sqlite_file(path)
    except SchemaError as exc:
        raise BackupError(f"{where}: refused, {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{where}: not a readable SQLite database ({exc})") from exc


def _temporary_beside(target: Path, suffix: str) -> Path:
    """A new, empty, owner-only file in the target's folder, so the final rename stays on one disk.

    The backup or restored database takes this file's mode (0600, from
    ``mkstemp``, set again explicitly) when it is renamed into place; folders
    made for it are 0700.
    """
    new_dirs_private(target.parent)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return Path(name)


def _sqlite_copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy an open database into the file ``target`` as one self-contained file (no WAL)."""
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
        # The copy would keep the source's WAL mode; a backup file stands alone.
        dest.execute("PRAGMA journal_mode=DELETE")
        _sqlite_check(dest, target)
    finally:
        dest.close()


def _backup_sqlite(source_path: Path, output: Path) -> None:
    if not source_path.is_file():
        raise BackupError(f"{source_path}: no database to back up")
    temporary = _temporary_beside(output, ".partial")
    try:
        source = sqlite3.connect(source_path, timeout=20)
        try:
            _sqlite_copy(source, temporary)
        finally:
            source.close()
        os.replace(temporary, output)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source_path}: backup failed ({exc})") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _restore_sqlite(backup: Path, target: Path) -> None:
    temporary = _temporary_beside(target, ".restoring")
    try:
        with _sqlite_readonly(backup) as source:
            _sqlite_copy(source, temporary)
        # The copy is what goes live: check it again, so a file changed since
        # the first check cannot slip in.
        _verify_sqlite(temporary, where=backup)
        if target.exists():
            # Fold the write-ahead log into the old file and empty it: a log
            # left beside the new file must not be replayed into it.
            old = sqlite3.connect(target, timeout=20)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        os.replace(temporary, target)
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{target}: restore failed, the database is unchanged ({exc})") from exc
    finally:
        temporary.unlink(missing_ok=True)


# --- PostgreSQL -------------------------------------------------------------------------


def _program(name: str) -> str:
    try:
        return postgresql_program(name)
    except ClientProgramMissing as exc:
        raise BackupError(str(exc)) from None


def _run(command: list[str], env: dict[str, str] | None, what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[0] if lines else f"exit code {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")
    return result.stdout


def _backup_postgresql(database: Mapping[str, Any], output: Path) -> None:
    args, env = connection_args(database)
    temporary = _temporary_beside(output, ".partial")
    try:
        _run(
            [_program("pg_dump"), "--format=custom", "--file", str(temporary), *args],
            env,
            f"pg_dump of {database['NAME']}",
        )
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _verify_postgresql(path: Path, database: Mapping[str, Any]) -> None:
    from receipts.restore_checks import SchemaError, check_postgresql_archive

    listing = _run([_program("pg_restore"), "--list", str(path)], None, f"{path}: check")
    if "django_migrations" not in listing:
        raise BackupError(f"{path}: not a Receipts database (it has no django_migrations table)")
    try:
        check_postgresql_archive(path, database)
    except SchemaError as exc:
        raise BackupError(f"{path}: refused, {exc}") from None
    except ClientProgramMissing as exc:
        raise BackupError(str(exc)) from None


def _postgresql_has_data(database: Mapping[str, Any]) -> bool:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        dbname=database["NAME"],
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
    ) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            if name not in SCHEMA_TABLES
        ]
        for name in tables:
            query = sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(name))
            if conn.execute(query).fetchone() is not None:
                return True
    return False


def _restore_postgresql(path: Path, database: Mapping[str, Any]) -> None:
    # pg_restore would run the archive's SQL as written; the archive is only
    # read as text, and checked statements and rows go in (restore_checks).
    import psycopg

    from receipts.restore_checks import SchemaError, restore_postgresql_archive

    try:
        restore_postgresql_archive(path, database)
    except SchemaError as exc:
        raise BackupError(f"{path}: refused, nothing was changed: {exc}") from None
    except ClientProgramMissing as exc:
        raise BackupError(f"{path}: {exc}; nothing was changed") from None
    except psycopg.Error as exc:
        raise BackupError(
            f"{path}: restore into {database['NAME']} failed, nothing was changed ({exc})"
        ) from None
