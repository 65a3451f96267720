"""One import at a time: a lock every importer holds from its first read to its last write.

Two imports writing at once would race on the same natural keys. On PostgreSQL the lock
is a session-level advisory lock held by a connection of its own; on SQLite it is an OS
lock (``flock``) on an owner-only file beside the database. Both end with the process
that holds them, so a crash or ``kill -9`` never leaves a stale lock, and both say who
holds them and since when. The lock is re-entrant within a thread: the command line
takes it before migrating, and the importer it calls takes it again at no cost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

# The advisory lock's key on PostgreSQL: "receipts" in ASCII, a positive bigint.
ADVISORY_KEY = int.from_bytes(b"receipts", "big")
LOCK_FILE_NAME = "import.lock"
EXIT_IMPORT_RUNNING = 75  # EX_TEMPFAIL: try again later

_local = threading.local()
# An in-memory SQLite database belongs to this process alone: its threads take turns.
_in_process = threading.Lock()


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: the process id (on its own machine) and since when, in UTC."""

    pid: int | None
    since: dt.datetime | None
    importer: str = ""

    def describe(self) -> str:
        parts = []
        if self.since is not None:
            parts.append(f"since {self.since.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        return f" ({', '.join(parts)})" if parts else ""


class ImportRunning(Exception):
    """Another import holds the lock; this one stored nothing."""

    exit_code = EXIT_IMPORT_RUNNING

    def __init__(self, holder: Holder) -> None:
        self.holder = holder
        super().__init__(
            f"an import is already running{holder.describe()}; try again when it has "
            "finished (or add --wait to wait for it)"
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@contextlib.contextmanager
def import_lock(
    importer: str,
    *,
    wait: bool = False,
    on_wait: Callable[[Holder], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Iterator[None]:
    """Hold the import lock of the ``using`` database for the block.

    Raises ImportRunning if another process (or thread) holds it, unless ``wait``:
    then ``on_wait`` hears who holds it and the call blocks until it is free.
    """
    depth: dict[str, int] = getattr(_local, "depth", None) or {}
    _local.depth = depth
    if depth.get(using):
        depth[using] += 1
        try:
            yield
        finally:
            depth[using] -= 1
        return
    connection = connections[using]
    if connection.vendor == "postgresql":
        held = _advisory_lock(importer, wait, on_wait, using)
    elif isinstance(connection, SQLiteWrapper) and not connection.is_in_memory_db():
        held = _file_lock(Path(connection.settings_dict["NAME"]).parent, importer, wait, on_wait)
    else:
        held = _thread_lock(wait, on_wait)
    with held:
        depth[using] = 1
        try:
            yield
        finally:
            depth[using] = 0


@contextlib.contextmanager
def _thread_lock(wait: bool, on_wait: Callable[[Holder], None] | None) -> Iterator[None]:
    if not _in_process.acquire(blocking=False):
        holder = Holder(os.getpid(), None)
        if not wait:
            raise ImportRunning(holder)
        if on_wait is not None:
            on_wait(holder)
        _in_process.acquire()
    try:
        yield
    finally:
        _in_process.release()


# --- SQLite: a lock file -------------------------------------------------------------


def lock_file(folder: Path) -> Path:
    return folder / LOCK_FILE_NAME


def _read_holder(fd: int) -> Holder:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        record = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        since = dt.datetime.fromisoformat(record["since"]) if record.get("since") else None
        return Holder(record.get("pid"), since, record.get("importer", ""))
    except (OSError, ValueError, TypeError, AttributeError):
        # Written a moment ago and not yet complete, or damaged: the lock still counts.
        return Holder(None, None)


@contextlib.contextmanager
def _file_lock(
    folder: Path, importer: str, wait: bool, on_wait: Callable[[Holder], None] | None
) -> Iterator[None]:
    path = lock_file(folder)
    # Owner-only whatever the umask; O_NOFOLLOW: a planted symlink is not followed.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with contextlib.suppress(PermissionError):  # another owner's file: theirs to keep
            os.fchmod(fd, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            if not wait:
                raise ImportRunning(holder) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        record = {"pid": os.getpid(), "since": _now().isoformat(), "importer": importer}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only unnamed
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            # The kernel also releases it when the process ends, however it ends.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- PostgreSQL: an advisory lock on a connection of its own ---------------------------

_HOLDER_SQL = """
    SELECT a.application_name, a.backend_start
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %s AND l.objid::bigint = %s
"""
_APPLICATION = "receipts import"


def _pg_holder(cursor: Any) -> Holder:
    cursor.execute(_HOLDER_SQL, [ADVISORY_KEY >> 32, ADVISORY_KEY & 0xFFFFFFFF])
    row = cursor.fetchone()
    if row is None:
        return Holder(None, None)
    name, started = row
    # "receipts import <importer> pid=<pid> since=<ISO time>", set by the holder.
    fields = dict(part.split("=", 1) for part in (name or "").split() if "=" in part)
    try:
        pid = int(fields["pid"]) if "pid" in fields else None
        since = dt.datetime.fromisoformat(fields["since"]) if "since" in fields else started
    except ValueError:
        pid, since = None, started
    return Holder(pid, since)


@contextlib.contextmanager
def _advisory_lock(
    importer: str, wait: bool, on_wait: Callable[[Holder], None] | None, using: str
) -> Iterator[None]:
    # A connection of its own: the lock lives as long as this session, whatever the
    # import's own connection does (transactions, reconnects), and the server ends it
    # when the process dies.
    lock_connection = connections.create_connection(using)
    try:
        lock_connection.set_autocommit(True)
        with lock_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
            (got,) = cursor.fetchone()
            if not got:
                holder = _pg_holder(cursor)
                if not wait:
                    raise ImportRunning(holder)
                if on_wait is not None:
                    on_wait(holder)
                cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
            name = f"{_APPLICATION} {importer} pid={os.getpid()} since={_now():%Y-%m-%dT%H:%MZ}"
            cursor.execute("SELECT set_config('application_name', %s, false)", [name[:63]])
        try:
            yield
        finally:
            # A lost connection has released it already.
            with contextlib.suppress(Exception), lock_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
    finally:
        lock_connection.close()
