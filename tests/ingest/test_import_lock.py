"""The import lock in one process: who holds it, re-entry, the lock file's permissions.

Two real processes racing for it are in tests/faults/test_import_faults.py.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from receipts.ingest import import_lock as lock
from receipts.ingest.import_lock import ImportRunning, import_lock


def test_the_lock_file_is_owner_only_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        with lock._file_lock(tmp_path, "usaspending", False, None):
            mode = (tmp_path / lock.LOCK_FILE_NAME).stat().st_mode & 0o777
    finally:
        os.umask(old)
    assert mode == 0o600


def test_a_file_lock_held_elsewhere_is_refused_naming_its_holder(tmp_path: Path):
    # flock belongs to an open file: a second opening conflicts even in one process.
    with (
        lock._file_lock(tmp_path, "usaspending", False, None),
        pytest.raises(ImportRunning) as refused,
        lock._file_lock(tmp_path, "ftm", False, None),
    ):
        pass
    message = str(refused.value)
    assert re.fullmatch(
        rf"an import is already running \(since \d{{4}}-\d\d-\d\d \d\d:\d\d UTC, pid {os.getpid()}\); "
        r"try again when it has finished \(or add --wait to wait for it\)",
        message,
    ), message
    assert refused.value.exit_code == 75
    # Released: the next one gets it.
    with lock._file_lock(tmp_path, "ftm", False, None):
        pass


@pytest.mark.django_db
def test_the_lock_is_reentrant_in_a_thread_and_refused_to_another():
    refused: list[BaseException] = []

    def second_import() -> None:
        try:
            with import_lock("ftm"):
                pass
        except ImportRunning as exc:
            refused.append(exc)

    with import_lock("usaspending"), import_lock("usaspending"):
        other = threading.Thread(target=second_import)
        other.start()
        other.join()
    assert len(refused) == 1
    assert str(refused[0]).startswith("an import is already running")
    # Released by the outer block: taken again at once.
    other = threading.Thread(target=second_import)
    other.start()
    other.join()
    assert len(refused) == 1
