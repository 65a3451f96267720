"""Real-process faults in ``receipts import usaspending``: kill -9, a lost database, a
restarted PostgreSQL server, a full disk, two imports at once.

Each import runs as its own process (``python -m receipts``) on its own database: a
file-backed SQLite database in its own data directory, or a PostgreSQL database made for
the test from a migrated template and dropped after. The restart test runs its own
throwaway PostgreSQL server, never the shared one. Faults are placed from outside, as
an operator would: the test reads the import's progress lines on stderr (``storing
transactions: 300 of 1,000`` after a batch commits) and sends the process SIGSTOP or
SIGKILL there; stopped, the database tells whether it is inside a write transaction.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from benchmarks.make_usaspending import generate, read_truth

from receipts.cli.errors import EXIT_DATABASE_GONE, EXIT_DISK_FULL
from receipts.ingest.import_lock import EXIT_IMPORT_RUNNING, LOCK_FILE_NAME
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.slow

ROWS = 1000
BATCH = 100
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))


@dataclass
class Target:
    """One database for the subprocesses: its data directory and, on PostgreSQL, its URL."""

    data_dir: Path
    url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env["RECEIPTS_DATA_DIR"] = str(self.data_dir)
        if self.url:
            env["DATABASE_URL"] = self.url
        env.update(extra)
        return env

    def run(
        self, *args: str, timeout: float = 120, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        env = kwargs.pop("env", None) or self.env()
        return subprocess.run(
            [sys.executable, "-m", "receipts", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def query(self, sql: str) -> Any:
        if self.url:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as con:
                return con.execute(sql).fetchone()
        con = sqlite3.connect(self.data_dir / "receipts.sqlite3")
        try:
            return con.execute(sql).fetchone()
        finally:
            con.close()


def _admin(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql, params or None)


def _url_for(name: str) -> str:
    return DATABASE_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Any]:
    out = tmp_path_factory.mktemp("download")
    paths = generate(ROWS, "transactions", out / "files", seed=11, truth_path=out / "truth.jsonl")
    return paths, read_truth(out / "truth.jsonl")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A migrated database to copy, so each test skips the migrations."""
    folder = tmp_path_factory.mktemp("template")
    url = None
    if ON_POSTGRES:
        name = f"receipts_fault_tmpl_{uuid.uuid4().hex[:10]}"
        _admin(DATABASE_URL, f"CREATE DATABASE {name}")
        url = _url_for(name)
    target = Target(folder, url)
    try:
        done = target.run("migrate", "-v0")
        assert done.returncode == 0, done.stderr
        yield target
    finally:
        if url:
            _admin(DATABASE_URL, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@contextlib.contextmanager
def copy_of(template: Target, folder: Path) -> Iterator[Target]:
    """A fresh migrated database in ``folder`` (and on PostgreSQL, a database of its own)."""
    shutil.copytree(template.data_dir, folder)
    if not template.url:
        yield Target(folder)
        return
    name = f"receipts_fault_{uuid.uuid4().hex[:12]}"
    _admin(DATABASE_URL, f"CREATE DATABASE {name} TEMPLATE {template.url.rsplit('/', 1)[1]}")
    try:
        yield Target(folder, _url_for(name))
    finally:
        _admin(DATABASE_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def target(template: Target, tmp_path: Path) -> Iterator[Target]:
    with copy_of(template, tmp_path / "data") as made:
        yield made


def import_args(paths: list[Path]) -> list[str]:
    return ["import", "usaspending", *map(str, paths), "--batch-size", str(BATCH)]


def transactions(target: Target) -> tuple[int, int]:
    return target.query(
        "SELECT count(*), count(DISTINCT transaction_key) FROM ingest_contracttransaction"
    )


def assert_consistent(target: Target) -> None:
    checked = target.run("check")
    assert checked.returncode == 0, checked.stderr
    total, distinct = transactions(target)
    assert total == distinct


def assert_complete(target: Target, truth: Any) -> None:
    assert_consistent(target)
    assert transactions(target) == (truth.rows, truth.rows)
    (cents,) = target.query("SELECT coalesce(sum(obligated_cents), 0) FROM ingest_contracttotals")
    assert Decimal(cents) / 100 == truth.total_obligation


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


# --- an import stopped from outside -----------------------------------------------------


def batch_line(stored: int, truth: Any) -> str:
    """The progress line an import writes once ``stored`` transaction rows are committed."""
    return f"storing transactions: {stored:,} of {truth.rows:,}"


def _stopped(pid: int) -> bool:
    # The state is the field after the command's name, which is in parentheses.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def in_write_transaction(target: Target) -> bool:
    """Whether the import (stopped) is inside a write transaction of its database."""
    if target.url:
        (writing,) = target.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND backend_xid IS NOT NULL"
        )
        return bool(writing)
    # Transactions begin IMMEDIATE: a writer holds the lock from its first statement.
    con = sqlite3.connect(target.data_dir / "receipts.sqlite3", timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    else:
        con.execute("ROLLBACK")
        return False
    finally:
        con.close()


class RunningImport:
    """``receipts import usaspending`` as a process of its own, its progress lines read
    as they come."""

    def __init__(self, paths: list[Path], target: Target, **popen: Any) -> None:
        self.target = target
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "receipts", *import_args(paths)],
            env=popen.pop("env", None) or target.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._stdout: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self._stdout.append(self.proc.stdout.read())

    def wait_for(self, line: str, timeout: float = 120) -> None:
        """Until the import writes ``line``; fails if it ends first."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while line not in self.lines:
                assert self._readers[0].is_alive(), (
                    f"the import ended before {line!r}: {self.lines}"
                )
                assert time.monotonic() < deadline, f"no {line!r} in {self.lines}"
                self._seen.wait(0.1)

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while not _stopped(self.pid):
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline
            time.sleep(0.001)

    def stop_where(self, *, inside: bool, timeout: float = 60) -> None:
        """Stop it, resuming it briefly until it is stopped inside (or outside) a write
        transaction: where a batch's rows are written but not committed, or between."""
        deadline = time.monotonic() + timeout
        while True:
            self.stop()
            if in_write_transaction(self.target) == inside:
                return
            os.kill(self.pid, signal.SIGCONT)
            assert self.proc.poll() is None, "the import ended before it was stopped there"
            assert time.monotonic() < deadline, "the import was never stopped there"
            time.sleep(random.uniform(0, 0.004))

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL ends a stopped process too
        self.proc.wait()

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """Its exit status, stdout and stderr once it ends."""
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return self.proc.returncode, "".join(self._stdout), self.stderr()

    def stderr(self) -> str:
        with self._seen:
            return "\n".join(self.lines)


@contextlib.contextmanager
def running_import(paths: list[Path], target: Target, **popen: Any) -> Iterator[RunningImport]:
    """An import running while the test acts; killed on the way out if still running."""
    run = RunningImport(paths, target, **popen)
    try:
        yield run
    finally:
        if run.proc.poll() is None:
            run.kill()


# --- kill -9 --------------------------------------------------------------------------


# (the progress line after which it is killed, where, the least it has stored by then)
KILL_POINTS = [
    # Inside a batch's transaction, its rows written but not committed.
    ("after 3 batches", "inside a transaction", 3 * BATCH),
    # Between two batches' transactions.
    ("after 6 batches", "between transactions", 6 * BATCH),
    # Contract ties recomputed, ownership ties not yet.
    ("ownership ties: started", "at once", None),
]


@pytest.mark.parametrize(("line", "where", "least"), KILL_POINTS, ids=[p[1] for p in KILL_POINTS])
def test_kill_9_leaves_whole_batches_and_a_rerun_completes(download, target, line, where, least):
    paths, truth = download
    if line.startswith("after "):
        line = batch_line(int(line.split()[1]) * BATCH, truth)
    with running_import(paths, target) as run:
        run.wait_for(line)
        if where == "at once":
            run.kill()
        else:
            run.stop_where(inside=where == "inside a transaction")
            committed, _ = transactions(target)
            run.kill()
            # The batch in progress left nothing: what was committed is all there is.
            assert transactions(target)[0] == committed
        assert run.proc.returncode == -signal.SIGKILL, run.stderr()

    assert_consistent(target)
    total, _ = transactions(target)
    assert (truth.rows if least is None else least) <= total <= truth.rows
    assert total % BATCH == 0 or total == truth.rows
    if where != "at once":
        assert total < truth.rows, "killed after the last batch: nothing was cut short"

    rerun = target.run(*import_args(paths))
    assert rerun.returncode == 0, rerun.stderr
    assert_complete(target, truth)


# --- the database connection lost ------------------------------------------------------


@contextlib.contextmanager
def import_stopped_after_three_batches(
    download: tuple[list[Path], Any], target: Target, *, inside: bool = False, **popen: Any
) -> Iterator[tuple[RunningImport, int]]:
    """An import stopped (SIGSTOP) after committing its 3rd batch, inside or outside a
    write transaction, with the transaction rows committed by then, holding the import
    lock. The caller resumes it; a process still running on the way out is killed.

    It runs with umask 000, so the lock file it makes shows its own permissions.
    """
    paths, truth = download
    popen.setdefault("preexec_fn", lambda: os.umask(0))
    with running_import(paths, target, **popen) as run:
        run.wait_for(batch_line(3 * BATCH, truth))
        run.stop_where(inside=inside)
        committed, _ = transactions(target)
        assert committed % BATCH == 0 and committed >= 3 * BATCH
        yield run, committed


@pytest.mark.database("postgresql")
def test_lost_postgres_connection_is_one_clear_line_and_a_retry_completes(download, target):
    # The server is shared with other test runs, so it is not restarted here: the import's
    # backend is terminated instead (the restart test below runs a server of its own).
    paths, truth = download
    name = target.url.rsplit("/", 1)[1]  # type: ignore[union-attr]
    # Stopped inside a batch's transaction: the batch goes with the connection.
    with import_stopped_after_three_batches(download, target, inside=True) as (run, committed):
        _admin(
            DATABASE_URL,
            # Client backends only: an autovacuum worker busy on the fresh tables is a
            # superuser process that the test's role may not (and need not) terminate.
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            (name,),
        )
        run.resume()
        returncode, _, stderr = run.finish(timeout=60)
    assert returncode == EXIT_DATABASE_GONE, stderr
    error = one_line_error(stderr)
    assert "lost the connection to the database" in error, error

    assert_consistent(target)
    assert transactions(target)[0] == committed
    retry = target.run(*import_args(paths))
    assert retry.returncode == 0, retry.stderr
    assert_complete(target, truth)


# --- a restarted PostgreSQL server ----------------------------------------------------


def _postgres_programs() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's newest version, else the PATH's."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    for folder in [*debian, *([Path(on_path).parent] if on_path else [])]:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@dataclass
class PrivateServer:
    """A throwaway PostgreSQL cluster: its own folder, port and socket folder."""

    programs: Path
    folder: Path
    port: int
    os_user: str | None  # root may not run a server: its programs run as this user

    def url(self, name: str, role: str = "receipts") -> str:
        return f"postgres://{role}:{role}@127.0.0.1:{self.port}/{name}"

    def run(self, program: str, *args: str) -> None:
        command = [str(self.programs / program), *args]
        if self.os_user:
            command = ["runuser", "-u", self.os_user, "--", *command]
        # Run from the server's folder: the user it runs as may not enter the current one.
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)
        log = self.folder / "server.log"
        assert done.returncode == 0, (
            command,
            done.stdout,
            done.stderr,
            log.read_text(errors="replace")[-2000:] if log.exists() else "",
        )

    def ctl(self, *args: str) -> None:
        data, log = str(self.folder / "data"), str(self.folder / "server.log")
        self.run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", *args)

    def admin(self, sql: str) -> None:
        _admin(self.url("postgres", role="postgres"), sql)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    """A PostgreSQL server of this module alone, so restarting it disturbs no other test."""
    programs = _postgres_programs()
    if programs is None:
        skip_or_fail("PostgreSQL server programs (initdb, pg_ctl) not found")
    assert programs is not None
    owner = None
    if os.geteuid() == 0:  # initdb and postgres refuse root: run them as postgres
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root, and no postgres user to run PostgreSQL as")
        if not shutil.which("runuser"):
            skip_or_fail("running as root, and no runuser to run PostgreSQL as postgres")
    # Short and outside pytest's owner-only folders: the server's user must reach it, and a
    # socket path has a length limit.
    folder = Path(tempfile.mkdtemp(prefix="receipts-pg-"))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = PrivateServer(programs, folder, _free_port(), owner.pw_name if owner else None)
    started = False
    try:
        data = str(folder / "data")
        # The superuser is postgres whoever runs it; trust suits a server on 127.0.0.1 for tests.
        options = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        server.run("initdb", "-D", data, *options)
        with (folder / "data" / "postgresql.conf").open("a") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\n"
                f"port = {server.port}\n"
                f"unix_socket_directories = '{folder}'\n"
                "fsync = off\n"
                "full_page_writes = off\n"
                "synchronous_commit = off\n"
            )
        server.ctl("start")
        started = True
        server.admin("CREATE ROLE receipts LOGIN PASSWORD 'receipts'")
        server.admin("CREATE DATABASE receipts_migrated OWNER receipts")
        migrating = Target(tmp_path_factory.mktemp("migrate"), server.url("receipts_migrated"))
        migrated = migrating.run("migrate", "-v0")
        assert migrated.returncode == 0, migrated.stderr
        yield server
    finally:
        if started:
            server.ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


# Entities by their identifiers: row ids differ between databases, and which spelling of
# a company's name a run keeps first may too.
_ENTITY_KEYS = """
    WITH k AS (
        SELECT e.id, coalesce(
            (SELECT string_agg(i.scheme || ':' || i.value, ' ' ORDER BY i.scheme, i.value)
             FROM evidence_identifier i WHERE i.entity_id = e.id), e.kind || ':' || e.name) AS key
        FROM evidence_entity e)
"""


def _fingerprint(url: str) -> dict[str, Any]:
    """What an import stored, by natural keys."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(con.execute(_ENTITY_KEYS + sql).fetchall())

        return {
            "transactions": rows(
                "SELECT award_key, count(*), count(DISTINCT transaction_key), sum(obligation_cents) "
                "FROM ingest_contracttransaction GROUP BY award_key"
            ),
            "awards": rows(
                "SELECT a.award_key, r.key, s.key, a.summary_obligated_cents "
                "FROM ingest_contractaward a "
                "JOIN k r ON r.id = a.recipient_id JOIN k s ON s.id = a.sub_agency_id"
            ),
            "contract totals": rows(
                "SELECT s.key, o.key, t.kind, t.status, c.obligated_cents, c.award_count, "
                "c.transaction_count, c.first_action_date, c.last_action_date, "
                "c.by_fiscal_year::text FROM ingest_contracttotals c "
                "JOIN evidence_tie t ON t.id = c.tie_id "
                "JOIN k s ON s.id = t.subject_id JOIN k o ON o.id = t.object_id"
            ),
            "ties": rows(
                "SELECT s.key, o.key, t.kind, t.status, count(*) FROM evidence_tie t "
                "JOIN k s ON s.id = t.subject_id JOIN k o ON o.id = t.object_id GROUP BY 1, 2, 3, 4"
            ),
            "entities": rows("SELECT key FROM k"),
        }


@pytest.mark.database("postgresql")
def test_postgres_restart_mid_import_is_one_clear_line_and_a_rerun_completes(
    download, private_server, tmp_path
):
    paths, truth = download
    server = private_server
    for name in ("restarted", "clean"):
        server.admin(f"CREATE DATABASE {name} TEMPLATE receipts_migrated OWNER receipts")
    target = Target(tmp_path / "restarted", server.url("restarted"))
    clean = Target(tmp_path / "clean", server.url("clean"))

    # The server restarts (fast: sessions end at once) while the import is stopped.
    with import_stopped_after_three_batches(download, target) as (run, committed):
        server.ctl("restart", "-m", "fast")
        run.resume()
        returncode, _, stderr = run.finish(timeout=60)
    assert returncode == EXIT_DATABASE_GONE, stderr
    error = one_line_error(stderr)
    assert "lost the connection to the database" in error, error
    assert "the server restarted" in error, error
    assert "running the command again is safe" in error, error

    assert_consistent(target)
    assert transactions(target)[0] == committed  # the committed batches, whole

    # The re-run, and a clean import of the same files beside it to compare with.
    clean_log = tmp_path / "clean-import.log"
    with clean_log.open("w") as log:
        clean_run = subprocess.Popen(
            [sys.executable, "-m", "receipts", *import_args(paths)],
            env=clean.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            rerun = target.run(*import_args(paths))
            clean_run.wait(timeout=120)
        finally:
            if clean_run.poll() is None:
                clean_run.kill()
                clean_run.wait()
    assert rerun.returncode == 0, rerun.stderr
    assert clean_run.returncode == 0, clean_log.read_text()
    assert_complete(target, truth)
    (awards, distinct_awards) = target.query(
        "SELECT count(*), count(DISTINCT award_key) FROM ingest_contractaward"
    )
    assert awards == distinct_awards == len(truth.awards)
    assert _fingerprint(target.url) == _fingerprint(clean.url)  # type: ignore[arg-type]


# --- a full disk -------------------------------------------------------------------------


def _mount_small_tmpfs(folder: Path, size: str = "2m") -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def _limit_file_size() -> None:
    # Writes past the limit fail with EFBIG instead of the signal ending the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, 2 * 1024 * 1024))


def assert_says_disk_full(error: str) -> None:
    """The one line says what happened, that nothing partial was kept, and what to do."""
    assert error.startswith("Error: the disk is full ("), error
    assert "nothing partial was kept (batches committed before it stay whole" in error, error
    assert "once space is freed running the command again is safe" in error, error


@pytest.mark.database("sqlite")
def test_full_disk_is_one_clear_line_and_nothing_is_corrupted(download, target, tmp_path):
    paths, truth = download
    small = tmp_path / "small"
    small.mkdir()
    mounted = _mount_small_tmpfs(small)
    try:
        if mounted:
            for item in target.data_dir.iterdir():
                shutil.copy2(item, small / item.name)
            full = Target(small)
            failed = full.run(*import_args(paths))
        else:
            full = target
            failed = full.run(*import_args(paths), preexec_fn=_limit_file_size)
        assert failed.returncode != 0, failed.stdout
        assert failed.returncode > 0, failed.stderr  # an error exit, not a signal
        error = one_line_error(failed.stderr)
        assert "disk" in error.lower() or "space" in error.lower(), error
        if mounted:
            assert failed.returncode == EXIT_DISK_FULL, failed.stderr
            assert_says_disk_full(error)
            assert f"writing the database {small / 'receipts.sqlite3'}" in error, error
            # The limit lifted: the same files, on a disk with room.
            shutil.rmtree(target.data_dir)
            shutil.copytree(small, target.data_dir)
    finally:
        if mounted:
            subprocess.run(["umount", str(small)], check=True)

    assert_consistent(target)
    total, _ = transactions(target)
    assert total % BATCH == 0
    rerun = target.run(*import_args(paths))
    assert rerun.returncode == 0, rerun.stderr
    assert_complete(target, truth)


def test_full_working_folder_is_one_clear_line_and_stores_nothing(download, target, tmp_path):
    # The files are staged in a DuckDB database under TMPDIR before anything is stored.
    paths, truth = download
    small = tmp_path / "tmp"
    small.mkdir()
    if not _mount_small_tmpfs(small, "300k"):
        skip_or_fail("mounting a small tmpfs needs root")
    try:
        failed = target.run(*import_args(paths), env=target.env(TMPDIR=str(small)))
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert failed.returncode == EXIT_DISK_FULL, failed.stderr
    error = one_line_error(failed.stderr)
    assert_says_disk_full(error)
    assert f"writing the import's working files in {small}" in error, error
    assert transactions(target) == (0, 0)
    rerun = target.run(*import_args(paths))
    assert rerun.returncode == 0, rerun.stderr
    assert_complete(target, truth)


@pytest.mark.database("postgresql")
def test_full_disk_on_postgres_is_one_clear_line_and_a_rerun_completes(
    download, private_server, tmp_path
):
    # The database lives in a tablespace on a small tmpfs of its own: the server's
    # write-ahead log stays on its own disk, so only this database's files run out of room.
    paths, truth = download
    server = private_server
    if os.geteuid() != 0 or not shutil.which("mount"):
        skip_or_fail("mounting a small tmpfs needs root")
    folder = Path(tempfile.mkdtemp(prefix="receipts-pg-full-"))
    owner = pwd.getpwnam(server.os_user) if server.os_user else None
    uid = owner.pw_uid if owner else os.geteuid()
    name = f"full_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=64m,mode=0700,uid={uid}", "tmpfs", str(folder)],
        check=True,
    )
    try:
        server.admin(f"CREATE TABLESPACE {name} OWNER receipts LOCATION '{folder}'")
        server.admin(
            f"CREATE DATABASE {name} TEMPLATE receipts_migrated OWNER receipts TABLESPACE {name}"
        )
        # Room for about a third of the import, then the disk is full.
        usage = os.statvfs(folder)
        used_kb = (usage.f_blocks - usage.f_bfree) * usage.f_frsize // 1024
        subprocess.run(["mount", "-o", f"remount,size={used_kb + 1536}k", str(folder)], check=True)
        target = Target(tmp_path / "full", server.url(name))

        failed = target.run(*import_args(paths))
        assert failed.returncode == EXIT_DISK_FULL, failed.stderr
        error = one_line_error(failed.stderr)
        assert_says_disk_full(error)
        assert "could not extend file" in error, error
        assert f"on the database server's disk (database {name} on 127.0.0.1)" in error, error
        # Space is freed before the database is read again: a new server session
        # may need to write its relation cache file into the database's folder,
        # and on a full tablespace the server refuses the connection itself.
        subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)
        assert_consistent(target)
        total, _ = transactions(target)
        assert total % BATCH == 0

        rerun = target.run(*import_args(paths))
        assert rerun.returncode == 0, rerun.stderr
        assert_complete(target, truth)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.admin(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


# --- two imports at once ---------------------------------------------------------------


def stored(target: Target) -> dict[str, Any]:
    """What an import stored, in counts and totals that do not depend on row ids."""
    return {
        "transactions": transactions(target),
        "transaction cents": target.query(
            "SELECT coalesce(sum(obligation_cents), 0) FROM ingest_contracttransaction"
        ),
        "awards": target.query(
            "SELECT count(*), count(DISTINCT award_key) FROM ingest_contractaward"
        ),
        "entities": target.query("SELECT count(*), count(DISTINCT name) FROM evidence_entity"),
        "ties": target.query("SELECT kind, count(*) FROM evidence_tie GROUP BY kind ORDER BY kind"),
        "contract totals": target.query(
            "SELECT count(*), sum(obligated_cents), sum(award_count), sum(transaction_count) "
            "FROM ingest_contracttotals"
        ),
        "citations": target.query("SELECT count(*) FROM evidence_citation"),
    }


@pytest.fixture
def single_import(download, template: Target, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """What one clean import of the download stores."""
    paths, _ = download
    with copy_of(template, tmp_path / "clean") as clean:
        done = clean.run(*import_args(paths))
        assert done.returncode == 0, done.stderr
        yield stored(clean)


def test_a_second_import_while_one_runs_exits_75_and_stores_nothing(
    download, target, single_import, tmp_path
):
    paths, truth = download
    ftm_file = tmp_path / "one.ftm.json"
    ftm_file.write_text(
        '{"id": "loser-co", "schema": "Company", "properties": {"name": ["Loser Co"]}}\n'
    )
    with import_stopped_after_three_batches(download, target) as (first, committed):
        during = stored(target)
        assert during["transactions"] == (committed, committed)
        for second in (target.run(*import_args(paths)), target.run("import", "ftm", str(ftm_file))):
            assert second.returncode == EXIT_IMPORT_RUNNING, second.stderr
            error = one_line_error(second.stderr)
            assert error.startswith("Error: an import is already running (since "), error
            assert f" UTC, pid {first.pid}); try again when it has finished" in error, error
            assert stored(target) == during
        if not target.url:
            lock = target.data_dir / LOCK_FILE_NAME
            assert lock.stat().st_mode & 0o777 == 0o600  # owner-only, whatever the umask
        first.resume()
        returncode, _, stderr = first.finish(timeout=120)
    assert returncode == 0, stderr
    assert_complete(target, truth)
    assert stored(target) == single_import
    (loser,) = target.query("SELECT count(*) FROM evidence_entity WHERE name = 'Loser Co'")
    assert loser == 0


def test_a_second_import_with_wait_runs_when_the_first_has_finished(
    download, target, single_import
):
    paths, truth = download
    with import_stopped_after_three_batches(download, target) as (first, committed):
        waiting = subprocess.Popen(
            [sys.executable, "-m", "receipts", *import_args(paths), "--wait"],
            env=target.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The first line it writes says whom it waits for; only then does it block.
            assert waiting.stderr is not None
            line = waiting.stderr.readline()
            assert line.startswith("waiting for the import running (since "), line
            assert f"pid {first.pid})" in line, line
            assert stored(target)["transactions"] == (committed, committed)
            assert waiting.poll() is None
            first.resume()
            returncode, _, stderr = first.finish(timeout=120)
            assert returncode == 0, stderr
            out, err = waiting.communicate(timeout=120)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
    assert waiting.returncode == 0, err
    assert "transactions: 0 stored, 0 updated, 1000 unchanged" in out, out
    assert_complete(target, truth)
    assert stored(target) == single_import


def test_a_killed_import_does_not_block_the_next(download, target, single_import):
    paths, truth = download
    with import_stopped_after_three_batches(download, target) as (first, _committed):
        refused = target.run(*import_args(paths))
        assert refused.returncode == EXIT_IMPORT_RUNNING, refused.stderr
        first.kill()
    # Its lock went with it: the next import runs and completes the data.
    rerun = target.run(*import_args(paths))
    assert rerun.returncode == 0, rerun.stderr
    assert_complete(target, truth)
    assert stored(target) == single_import
