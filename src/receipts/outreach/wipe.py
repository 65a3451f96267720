"""Wiping erased supporters' bytes from the live database files, once their rows are deleted.

Deleting a row leaves its bytes behind: SQLite keeps a deleted cell in the
page's free space and every written page image in the write-ahead log until a
checkpoint; PostgreSQL keeps old row versions in the table's pages until they
are vacuumed, and a plain VACUUM only marks their space free. Invariant: once
``wipe_erased_rows`` returns without a note, no byte of a deleted supporter
row is left in the files the database is running on.

- SQLite: ``PRAGMA secure_delete`` zeroes deleted cells and freed pages (set
  on every connection in the settings, and again here in case a deployment's
  own options lack it); ``PRAGMA wal_checkpoint(TRUNCATE)`` then copies the
  zeroed pages into the database file and truncates the log to zero bytes,
  so no page image written before the erasure remains in ``-wal``.
- PostgreSQL: ``VACUUM (FULL)`` of the tables that held supporter rows
  writes each table, its TOAST table and its indexes into new files holding
  the live rows only, and the old files are unlinked. What stays elsewhere
  (write-ahead log segments until recycled, the unlinked files' blocks on the
  disk, replicas, WAL archives and backups) is said in the README.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connection, transaction

from .models import ConsentRecord, Submission, Supporter, SupporterKey

# Every table a supporter's rows live in; the order does not matter to VACUUM.
PERSONAL_TABLES: tuple[str, ...] = (
    Submission._meta.db_table,
    ConsentRecord._meta.db_table,
    SupporterKey._meta.db_table,
    Supporter._meta.db_table,
)


def prepare_erasure() -> None:
    """Make the connection zero what it deletes; call before deleting supporter rows."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def wipe_erased_rows() -> list[str]:
    """Remove deleted supporter rows' bytes from the live files; returns notes on what could not.

    Runs outside any transaction (a checkpoint and VACUUM cannot run inside
    one); called inside an atomic block, it runs when that block commits.
    """
    if connection.in_atomic_block:
        notes: list[str] = []
        transaction.on_commit(lambda: notes.extend(_wipe()))
        return notes
    return _wipe()


def _wipe() -> list[str]:
    wipers: dict[str, Callable[[], list[str]]] = {
        "sqlite": _wipe_sqlite,
        "postgresql": _wipe_postgresql,
    }
    wiper = wipers.get(connection.vendor)
    if wiper is None:
        return [f"erased rows are deleted, but {connection.vendor} files are not wiped"]
    if connection.in_atomic_block:
        # Reached only when commit callbacks are run early, inside a transaction.
        return ["erased rows are deleted; their bytes are wiped only outside a transaction"]
    try:
        return wiper()
    except DatabaseError as exc:
        # The erasure is committed; the operator learns the files still need it.
        return [f"erased rows are deleted, but wiping them from the files failed ({exc})"]


def _wipe_sqlite() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        (secure,) = cursor.fetchone()
        # Waits (busy timeout) for readers of older snapshots to finish.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, log_frames, checkpointed = cursor.fetchone()
    notes = []
    if not secure:
        notes.append(
            "the database connection did not zero deleted rows (PRAGMA secure_delete is off); "
            "run VACUUM on the database to rewrite it"
        )
    if busy or log_frames != checkpointed:
        notes.append(
            "the write-ahead log could not be emptied while other connections were reading; "
            "it holds the erased rows until the last connection closes (stop the site: the "
            "last connection to close folds the log into the database and deletes it)"
        )
    return notes


def _filenodes(tables: tuple[str, ...]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_relation_filenode(oid) FROM pg_class "
            "WHERE relname = ANY(%s) AND relnamespace = current_schema()::regnamespace",
            [list(tables)],
        )
        return dict(cursor.fetchall())


def _wipe_postgresql() -> list[str]:
    before = _filenodes(PERSONAL_TABLES)
    quoted = ", ".join(connection.ops.quote_name(table) for table in PERSONAL_TABLES)
    with connection.cursor() as cursor:
        # Table names are the models' own, quoted as identifiers.
        cursor.execute(f"VACUUM (FULL) {quoted}")
    after = _filenodes(PERSONAL_TABLES)
    # VACUUM skips, with a mere warning, a table the role does not own.
    kept = [table for table in PERSONAL_TABLES if before.get(table) == after.get(table)]
    if kept:
        return [
            f"the erased rows are deleted, but {', '.join(kept)} could not be rewritten "
            "(VACUUM FULL needs the role that owns the tables): their old row versions stay "
            "in the table files until a VACUUM FULL by the owner"
        ]
    return []
