"""The test web site, and settings that let a capture reach it on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import CHROMIUM

from .site import Site


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


@pytest.fixture
def local_captures(settings: Any) -> Any:
    """Captures of the test site on 127.0.0.1: the guard lifted for loopback, tight limits."""
    settings.ALLOW_PRIVATE_ADDRESSES = True
    settings.CAPTURE_CHROMIUM = CHROMIUM
    settings.CAPTURE_TIMEOUT = 20
    settings.CAPTURE_SETTLE_SECONDS = 1
    settings.CAPTURE_MAX_BYTES = 2 * 1024 * 1024
    return settings
