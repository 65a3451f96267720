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
