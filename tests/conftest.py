"""Test set-up shared by every app: archive and key folders per test, the admin client, and the browser.

In CI (``CI`` or ``RECEIPTS_REQUIRE_SERVICES`` set) a missing browser is a
failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("RECEIPTS_CHROMIUM", "/usr/bin/chromium")


def services_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("RECEIPTS_REQUIRE_SERVICES"))


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (required in CI: nothing may skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    settings.ARCHIVE_DIR = folder
    return folder


@pytest.fixture
def admin_client(admin_user: Any) -> Any:
    """pytest-django's admin client, logged in as having given a second factor, as the admin asks."""
    from django.test import Client

    from tests.factories import login_verified

    client = Client()
    login_verified(client, admin_user)
    return client


@pytest.fixture(autouse=True)
def outreach_key_dir(settings: Any, tmp_path: Path) -> Path:
    """Outreach key files of a test live in its own folder, never in the data directory."""
    folder = tmp_path / "keys"
    settings.OUTREACH_KEY_DIR = folder
    return folder


@pytest.fixture
def sqlite_file(tmp_path: Path, django_db_setup: Any, django_db_blocker: Any) -> Iterator[Path]:
    """Django's connection on a freshly migrated SQLite database file, for one test.

    The SQLite test database is in memory; tests that read raw bytes, take
    backups or look at file modes need a real file (with its WAL beside it).
    """
    from django.core.management import call_command
    from django.db import connection

    path = tmp_path / "data" / "receipts.sqlite3"
    path.parent.mkdir()
    with django_db_blocker.unblock():
        memory = connection.connection
        name = connection.settings_dict["NAME"]
        connection.connection = None
        connection.settings_dict["NAME"] = str(path)
        try:
            call_command("migrate", interactive=False, verbosity=0)
            yield path
        finally:
            connection.close()
            connection.settings_dict["NAME"] = name
            connection.connection = memory


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        skip_or_fail(f"Chromium not found at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def _database_vendor() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "database(vendor): runs only on that database; the suite runs once on each",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out tests written for the other database, rather than skipping them.

    The suite runs once on SQLite and once on PostgreSQL, so each such test
    runs in exactly one of the two runs, and no run reports a skip.
    """
    vendor = _database_vendor()
    kept, left_out = [], []
    for item in items:
        marker = item.get_closest_marker("database")
        (left_out if marker is not None and marker.args[0] != vendor else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
