"""The API against its own OpenAPI schema: generated requests never get a 5xx.

Reads (GET) run on the demo evidence and must answer as the schema says;
writes sent without a token must answer 401, before their body is looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from receipts.config.wsgi import application
from receipts.demo import load_demo

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _load(modes: list[GenerationMode]) -> Any:
    """The schema, read at collection (touching no database), for examples and fuzzing.

    The coverage phase is off: it ignores max_examples and also sends methods
    a path does not have (405) and values the schema forbids.
    """
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    loaded.config.generation.update(modes=modes)
    return loaded


# Reads get valid requests only: ninja answers invalid ones 422, which the schema
# does not list. Writes get invalid bodies too: the token is checked first.
reads = _load([GenerationMode.POSITIVE])
writes = _load([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(autouse=True)
def demo(db: None) -> Iterator[None]:
    """The demo evidence, and requests that keep the test's connection, as Django's client does.

    A WSGI request closes old connections when it ends; inside the test's
    transaction that would close the connection the test runs in (PostgreSQL).
    """
    load_demo()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


FAST = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@reads.include(method="GET").parametrize()
@FAST
def test_reads_answer_as_the_schema_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@writes.exclude(method="GET").parametrize()
@FAST
def test_writes_without_a_token_answer_401(case: Any) -> None:
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call()
    assert response.status_code == 401, (response.status_code, response.text[:300])
