"""Fixtures for fetch tests: the local USAspending server and settings that reach it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.make_usaspending import generate

from tests.fetch.server import FakeUsaspending, serve


@pytest.fixture
def usaspending(settings, tmp_path: Path) -> Iterator[FakeUsaspending]:
    """The server, with the settings that make ``receipts fetch`` use it without waiting."""
    for state in serve():
        settings.USASPENDING_API = state.url
        settings.ALLOW_PRIVATE_ADDRESSES = True
        settings.USASPENDING_POLL_SECONDS = 0.01
        settings.USASPENDING_BACKOFF_SECONDS = 0.01
        settings.USASPENDING_RETRIES = 3
        settings.USASPENDING_TIMEOUT = 5
        settings.DATA_DIR = tmp_path / "data"
        yield state


@pytest.fixture(scope="session")
def generated_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated contract transactions download (a zip of one CSV), made once."""
    (path,) = generate(120, "transactions", tmp_path_factory.mktemp("zip"), seed=3, zip_output=True)
    return path


@pytest.fixture
def one_award(generated_zip: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The rows of one award of the generated download, all with one recipient."""
    from collections import defaultdict

    from tests.fetch.test_fetch_usaspending import zip_rows

    header, rows = zip_rows(generated_zip)
    by_award: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_award[r["contract_award_unique_key"]].append(r)
    for award_rows in by_award.values():
        if len({r["recipient_uei"] for r in award_rows}) == 1:
            return header, award_rows
    raise AssertionError("no award with one recipient")
