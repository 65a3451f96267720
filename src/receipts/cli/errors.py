"""How a failure becomes one line on stderr and an exit code.

Each function here reads an exception chain and returns the line to print, or
None when the error is not of its kind; the group in ``receipts.cli`` prints it.
"""

from __future__ import annotations

import click

EXIT_ERROR = 1
EXIT_NAME = 2
EXIT_DISK_FULL = 74  # EX_IOERR: free some space, then try again
EXIT_DATABASE_GONE = 75  # EX_TEMPFAIL: a temporary failure, try again later

# SQLSTATEs of a connection that ended or could not start: the connection exception
# class (08), and the server shutting down or restarting (57P01-57P03).
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


# SQLSTATE 53100 is disk_full; the texts are SQLite's, PostgreSQL's and the C library's.
_DISK_FULL_STATE = "53100"
_DISK_FULL_TEXTS = ("database or disk is full", "could not extend file", "no space left on device")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or while handling, first the newest."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and all(seen is not f for f in found):
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


def _disk_full_where(error: BaseException) -> str:
    import tempfile

    from django.conf import settings
    from django.db import DatabaseError

    if isinstance(error, OSError) and error.filename:
        return f"writing {error.filename}"
    database = settings.DATABASES["default"]
    if isinstance(error, DatabaseError) or type(error).__module__.startswith(
        ("sqlite3", "psycopg")
    ):
        if "sqlite" in database["ENGINE"]:
            return f"writing the database {database['NAME']}"
        return (
            f"on the database server's disk (database {database.get('NAME')} "
            f"on {database.get('HOST') or 'localhost'})"
        )
    return (
        f"writing the import's working files in {tempfile.gettempdir()} (TMPDIR names "
        "another folder)"
    )


def disk_full(exc: BaseException) -> str | None:
    """One line for an error meaning a disk filled up; None for any other error.

    Every write is transactional per batch, so what a full disk stopped is rolled
    back whole: that, and where the disk is full, is what the line says.
    """
    import errno

    for error in _chain(exc):
        text = str(error).strip()
        state = getattr(error, "sqlstate", None) or getattr(error.__cause__, "sqlstate", None)
        if not (
            (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT))
            or state == _DISK_FULL_STATE
            or any(t in text.lower() for t in _DISK_FULL_TEXTS)
        ):
            continue
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        detail = lines[0] if lines else "no space left on device"
        notes = [n for e in _chain(exc) for n in getattr(e, "__notes__", [])]
        during = f" {notes[0]}" if notes else ""
        return (
            f"the disk is full ({detail}) {_disk_full_where(error)}{during}; nothing partial "
            "was kept (batches committed before it stay whole, the one in progress was rolled "
            "back), so once space is freed running the command again is safe"
        )
    return None


def database_gone(exc: BaseException) -> str | None:
    """One line for an error meaning the database server went away or cannot be reached.

    A restart, a shutdown, a terminated session or a cut network look alike to the
    client: the statement in flight fails and its transaction is rolled back. The
    first such error in the chain is the cause (a later one comes from work done
    while handling it). None for any other error.
    """
    from django.db import InterfaceError, OperationalError

    found = None
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, (OperationalError, InterfaceError)):
            text = str(seen).strip()
            state = getattr(seen.__cause__, "sqlstate", None) or ""
            if state.startswith(_CONNECTION_STATES) or "connection" in text.lower():
                found = text
        seen = seen.__context__
    if found is None:
        return None
    lines = [line.strip() for line in found.splitlines() if line.strip()]
    detail = lines[0] if lines else "no detail"
    if detail.startswith(("connection failed:", "could not connect")) or (
        detail.startswith("connection to server") and "failed" in detail
    ):
        # The server was never reached in this attempt (it is down, or the address is wrong).
        return (
            f"cannot connect to the database ({detail}); once the server is running, "
            "running the command again is safe"
        )
    return (
        f"lost the connection to the database ({detail}): the server restarted, stopped "
        "or ended the session; work already committed is kept and running the command "
        "again is safe"
    )


class NameError_(click.ClickException):
    exit_code = EXIT_NAME
