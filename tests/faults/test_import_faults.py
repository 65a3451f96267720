"""Real-process faults in ``receipts import usaspending``: kill -9, a lost database, a full disk.

Each import runs as its own process (``python -m receipts``) on its own database: a
file-backed SQLite database in its own data directory, or a PostgreSQL database made for
the test from a migrated template and dropped after. Faults are placed with the
importer's test hook, ``RECEIPTS_IMPORT_FAULT_AT=<phase>:<n>[:pause]``.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from benchmarks.make_usaspending import generate, read_truth

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
        env = {k: v for k, v in os.environ.items() if k != "RECEIPTS_IMPORT_FAULT_AT"}
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


@pytest.fixture
def target(template: Target, tmp_path: Path) -> Iterator[Target]:
    folder = tmp_path / "data"
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


# --- kill -9 --------------------------------------------------------------------------


# (fault point, transactions stored when the process dies: None for every row)
KILL_POINTS = [
    # Inside the 4th batch's transaction, its rows written but not committed.
    ("inside transaction batch:4", 3 * BATCH),
    # Between batches: the 7th report of the phase comes after the 6th batch committed.
    ("storing transactions:7", 6 * BATCH),
    # Contract ties recomputed, ownership ties not yet.
    ("ownership ties:1", None),
]


@pytest.mark.parametrize(("fault", "stored"), KILL_POINTS, ids=[p[0] for p in KILL_POINTS])
def test_kill_9_leaves_whole_batches_and_a_rerun_completes(download, target, fault, stored):
    paths, truth = download
    killed = target.run(*import_args(paths), env=target.env(RECEIPTS_IMPORT_FAULT_AT=fault))
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    assert_consistent(target)
    total, _ = transactions(target)
    assert total == (truth.rows if stored is None else stored)
    assert total % BATCH == 0 or total == truth.rows

    rerun = target.run(*import_args(paths))
    assert rerun.returncode == 0, rerun.stderr
    assert_complete(target, truth)


# --- the database connection lost ------------------------------------------------------


@pytest.mark.database("postgresql")
def test_lost_postgres_connection_is_one_clear_line_and_a_retry_completes(download, target):
    # The server is shared with other test runs, so it is not restarted: the import's
    # backend is terminated instead, which the import sees the same way.
    paths, truth = download
    name = target.url.rsplit("/", 1)[1]  # type: ignore[union-attr]
    proc = subprocess.Popen(
        [sys.executable, "-m", "receipts", *import_args(paths)],
        env=target.env(RECEIPTS_IMPORT_FAULT_AT="storing transactions:4:pause"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while transactions(target)[0] < 3 * BATCH and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert proc.poll() is None, "the import ended before the fault point"
        _admin(
            DATABASE_URL,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode not in (0, -signal.SIGKILL), stderr
    error = one_line_error(stderr)
    assert "lost the connection to the database" in error, error

    assert_consistent(target)
    assert transactions(target)[0] == 3 * BATCH
    retry = target.run(*import_args(paths))
    assert retry.returncode == 0, retry.stderr
    assert_complete(target, truth)


# --- a full disk -------------------------------------------------------------------------


def _mount_small_tmpfs(folder: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def _limit_file_size() -> None:
    # Writes past the limit fail with EFBIG instead of the signal ending the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, 2 * 1024 * 1024))


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
