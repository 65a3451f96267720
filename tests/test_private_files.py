"""Everything under the data directory is owner-only, whatever the umask of the process.

The umask is set to 0000 (everything allowed) for these tests: any file or
folder made with default permissions would come out 0666 or 0777. The
database and its write-ahead log are checked through real ``receipts``
processes on a real data directory, the backup through ``receipts backup``,
the archive, report and key folders through the services that write them.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from receipts.accounts import keys
from receipts.evidence import services
from receipts.ingest.usaspending.importer import _write_report
from receipts.outreach import crypto
from tests.factories import make_source

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def receipts(data_dir: Path, *args: str) -> str:
    """Run ``receipts`` on ``data_dir`` in a process of its own, under umask 0000."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECEIPTS_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env["RECEIPTS_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "receipts", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# While this runs, the database has its write-ahead log and shared memory open.
MODES_WHILE_OPEN = """
import json, os, stat
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    cursor.execute("INSERT INTO probe VALUES (1)")
folder = os.environ["RECEIPTS_DATA_DIR"]
print(json.dumps({n: stat.S_IMODE(os.lstat(os.path.join(folder, n)).st_mode) for n in os.listdir(folder)}))
"""


@pytest.mark.database("sqlite")
@pytest.mark.slow
def test_data_folder_database_wal_and_shm_are_owner_only_under_umask_0000(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    receipts(data, "migrate", "-v", "0")
    assert mode(data) == OWNER_ONLY_DIR
    assert mode(data / "receipts.sqlite3") == OWNER_ONLY_FILE
    assert mode(data / "secret_key") == OWNER_ONLY_FILE

    found = json.loads(receipts(data, "shell", "-c", MODES_WHILE_OPEN).strip().splitlines()[-1])
    assert {"receipts.sqlite3", "receipts.sqlite3-wal", "receipts.sqlite3-shm"} <= set(found)
    assert found == dict.fromkeys(found, OWNER_ONLY_FILE)


@pytest.mark.database("sqlite")
@pytest.mark.slow
def test_backup_file_and_the_folders_made_for_it_are_owner_only_under_umask_0000(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    receipts(data, "migrate", "-v", "0")
    target = data / "backups" / "2026" / "receipts.sqlite3"
    receipts(data, "backup", "-o", str(target))
    assert mode(target) == OWNER_ONLY_FILE
    assert mode(data / "backups") == OWNER_ONLY_DIR
    assert mode(data / "backups" / "2026") == OWNER_ONLY_DIR
    assert [p.name for p in target.parent.iterdir()] == ["receipts.sqlite3"]


@pytest.mark.database("sqlite")
@pytest.mark.slow
def test_a_loose_data_folder_is_tightened_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    receipts(data, "migrate", "-v", "0")
    archived = data / "archive" / "ab" / "cd" / ("ab" + "cd" + "0" * 60)
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"%PDF-1.4")
    (data / "keys").mkdir()
    (data / "keys" / "coalition.key").write_text("kek-1:...\n")
    (data / "notes.txt").write_text("the operator's own file")
    for path in (data, *data.rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)

    receipts(data, "migrate", "-v", "0")

    assert mode(data) == OWNER_ONLY_DIR
    for path in (data / "receipts.sqlite3", data / "secret_key", archived):
        assert mode(path) == OWNER_ONLY_FILE, path
    assert mode(data / "keys" / "coalition.key") == OWNER_ONLY_FILE
    for path in (data / "archive", archived.parent, archived.parent.parent, data / "keys"):
        assert mode(path) == OWNER_ONLY_DIR, path
    # A file that is not the site's keeps its mode; the closed folder guards it.
    assert mode(data / "notes.txt") == 0o644


@pytest.mark.django_db
@pytest.mark.slow
def test_archive_copies_and_their_folders_are_owner_only_under_umask_0000(
    settings: Any, tmp_path: Path, permissive_umask: None
) -> None:
    settings.ARCHIVE_DIR = tmp_path / "data" / "archive"
    source = services.attach_archive(make_source(), io.BytesIO(b"%PDF-1.4 receipt"), "r.pdf")
    copy = services.archive_path(source.archive_sha256)
    assert mode(copy) == OWNER_ONLY_FILE
    folder = copy.parent
    while folder != tmp_path:
        assert mode(folder) == OWNER_ONLY_DIR, folder
        folder = folder.parent


def test_reports_and_their_folder_are_owner_only_under_umask_0000(
    settings: Any, tmp_path: Path, permissive_umask: None
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    report = _write_report(None, 7, [("awards.csv", 3, "award_id", "empty")], [])
    assert report.parent == tmp_path / "data" / "reports"
    assert mode(report) == OWNER_ONLY_FILE
    assert mode(report.parent) == OWNER_ONLY_DIR
    assert mode(tmp_path / "data") == OWNER_ONLY_DIR


def test_key_folder_and_keyrings_are_owner_only_under_umask_0000(
    outreach_key_dir: Path, permissive_umask: None
) -> None:
    crypto.load_keyring("coalition", create=True)
    keys.keyring()
    assert mode(outreach_key_dir) == OWNER_ONLY_DIR
    assert sorted(p.name for p in outreach_key_dir.iterdir()) == [
        "coalition.key",
        "logins.keyring",
    ]
    assert all(mode(p) == OWNER_ONLY_FILE for p in outreach_key_dir.iterdir())
