"""Every command that reads or writes the database works on a new, empty data folder.

Each command runs as a real ``receipts`` process on a data folder of its own, so
the SQLite database it finds has no tables yet: the command brings the schema up
to date before it touches anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A read command of each group that touches the database (each run migrates a new
# database from nothing, so one per group), with what it exits with on an
# empty database (2: a name that resolves to nothing, which needs a table to look in).
COMMANDS: list[tuple[list[str], int]] = [
    (["ties", "Amazon"], 2),
    (["check"], 0),
    (["export", "ftm"], 0),
    (["review"], 0),
    (["campaign", "list"], 0),
    (["outreach", "rotate-keys"], 0),
    (["token", "create", "nobody", "--campaign", "seattle"], 2),
    (["watch", "list"], 0),
]


def receipts(data_dir: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECEIPTS_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env["RECEIPTS_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "receipts", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.database("sqlite")
@pytest.mark.parametrize(
    ("args", "exit_code"), COMMANDS, ids=[" ".join(args) for args, _ in COMMANDS]
)
def test_command_works_on_a_new_data_folder(tmp_path: Path, args: list[str], exit_code: int):
    result = receipts(tmp_path / "new", *args)
    assert "no such table" not in result.stderr + result.stdout
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    if exit_code:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


@pytest.mark.database("sqlite")
def test_screen_works_on_a_new_data_folder(tmp_path: Path):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("name,value\nAmazon,100\n", encoding="utf-8")
    result = receipts(tmp_path / "new", "screen", str(holdings), "--format", "json")
    assert "no such table" not in result.stderr
    # A new database holds no agency to screen for: one line says what to load.
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("Error: profile 'dhs' screens for the U.S. Department")
    assert "not recorded here" in result.stderr
