"""Owner-only files and folders for everything the site keeps on disk, whatever the umask.

Invariant: every folder this code creates under the data directory (and the
archive and key folders, wherever they are) is 0700 and every file 0600, set
explicitly after creation, because a umask can only take permissions away and
a loose one (0022, 0000) would leave the database, its write-ahead log, the
archive, reports and keys readable by every local user. SQLite creates the
``-wal``, ``-shm`` and ``-journal`` files of a database with the database
file's own mode, so a database file created 0600 keeps them 0600 too; each new
connection tightens them anyway, for files left by older versions.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make ``path`` (and any missing parents) an owner-only folder; tighten it if it exists."""
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    # mkdir's mode goes through the umask and is ignored for parents: chmod makes it exact.
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for folder in missing:
        os.chmod(folder, PRIVATE_DIR)
    make_private(path)
    return path


def new_dirs_private(path: Path) -> Path:
    """Create the missing folders of ``path`` owner-only, leaving existing ones as they are.

    For folders a user names (``receipts backup -o /srv/backups/x``): a folder
    that exists is theirs to set, a folder made here is owner-only.
    """
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    for folder in missing:
        os.chmod(folder, PRIVATE_DIR)
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing (``w``, ``wb``, ``x``, ``xb``) as an owner-only file."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if "x" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        # An existing file keeps its mode through O_TRUNC, and the umask could loosen nothing
        # here, but a file left by an older version may be loose: fchmod makes it exact.
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def write_whole(target: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Write a text file that appears at ``target`` whole, owner-only, or not at all.

    The text goes to a new owner-only file beside ``target`` (the same disk, so
    the rename is atomic), which is flushed to disk and renamed over ``target``
    when the block ends; the folder is synced so the rename survives a crash.
    If the block raises, the temporary file goes and ``target`` stays as it
    was: a reader never sees half a file.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    temporary = Path(name)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            fd = -1
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def make_private(path: Path) -> None:
    """Set a file to 0600 or a folder to 0700; nothing happens for a path that does not exist."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    wanted = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
    if stat.S_IMODE(info.st_mode) != wanted:
        os.chmod(path, wanted)


def secure_folder(root: Path, entries: tuple[str, ...] | None = None) -> None:
    """Make ``root`` owner-only on start, and what is directly in it (only ``entries``, if given).

    When ``root`` was open to others (a folder made by an older version, or
    under a loose umask), everything below it, or below ``entries``, is
    tightened too; once it is 0700 nothing below it can be reached by another
    user, so later starts only check the top level and stay quick with a large
    archive. ``entries`` keeps hands off files of others in a shared folder.
    """
    root = Path(root)
    try:
        was_open = stat.S_IMODE(os.stat(root).st_mode) & 0o077
    except FileNotFoundError:
        return
    # A process that does not own the folder (another user reading it) cannot change
    # modes; it must still start, and the owner's next start tightens them.
    with suppress(PermissionError):
        make_private(root)
        names = [e.name for e in os.scandir(root)] if entries is None else list(entries)
        for name in names:
            top = root / name
            make_private(top)
            if was_open and top.is_dir() and not top.is_symlink():
                for folder, dirs, files in os.walk(top):
                    for child in (*dirs, *files):
                        make_private(Path(folder) / child)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file empty and owner-only before SQLite does, so SQLite keeps that mode.

    An empty file is an empty SQLite database. The log files SQLite makes
    beside it take its mode.
    """
    path = Path(path)
    new_dirs_private(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    with suppress(PermissionError):
        tighten_sqlite_files(path)


def tighten_sqlite_files(path: Path) -> None:
    """The database file and its WAL, shared-memory and journal files: owner-only."""
    make_private(Path(path))
    for suffix in SQLITE_COMPANIONS:
        make_private(Path(f"{path}{suffix}"))


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Tighten a SQLite database file and its log files each time a connection opens it.

    Connected in ``receipts.web``'s app config to Django's ``connection_created``.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return
    # Only the owner can change modes; another user's connection (read-only) goes on.
    with suppress(PermissionError):
        tighten_sqlite_files(Path(name))
