"""The API against its own OpenAPI schema: generated requests never get a 5xx.

Requests are generated in every mode: valid ones (positive) and ones the schema
forbids (negative: wrong types, values out of range, strings too long, missing
parameters). Reads run on the demo evidence: every answer, 422 included, must be
one the schema documents, with the body it documents; a request the schema
forbids must be refused with a 4xx, and one it allows must never get a 422.
Writes sent with an editor's token answer the same way (the editor has no role in
a campaign, so campaign writes stop at 403 or 404 once their input is valid);
writes sent without a token must answer 401, before their body is looked at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from ninja.responses import NinjaJSONEncoder
from schemathesis.checks import not_a_server_error
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from receipts.api.api import api
from receipts.api.tokens import issue_token
from receipts.config.wsgi import application
from receipts.demo import load_demo
from tests.factories import make_editor

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # Invalid input is refused with a 4xx (422, or 400/404 for the refused value).
    negative_data_rejection,
    # Valid input is never a 422: the schema is no looser than the validation.
    positive_data_acceptance,
]


def _load() -> Any:
    """The schema /api/openapi.json serves, built at collection (touching no database).

    Requests go to the site's WSGI application, with all its middleware. The
    coverage phase is off: it ignores max_examples and also sends methods a path
    does not have (405).
    """
    served = json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))
    loaded = schemathesis.openapi.from_dict(served)
    loaded.app = application
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    loaded.config.generation.update(modes=list(GenerationMode))
    # A valid request may still name nothing (404), an ambiguous name (400) or be refused
    # for what it asks (400, 403 on writes); it must never fail validation (422).
    loaded.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "400", "401", "403", "404"]
    )
    return loaded


api_schema = _load()


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


def fast(max_examples: int) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )


@api_schema.include(method="GET").parametrize()
@fast(30)
def test_reads_answer_as_the_schema_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@pytest.fixture
def editor_token(demo: None) -> str:
    """A live token of a user allowed to record evidence (and no role in any campaign)."""
    make_editor("fuzz-editor")
    return issue_token("fuzz-editor", "fuzz")


@api_schema.exclude(method="GET").parametrize()
@fast(15)
def test_writes_with_a_token_answer_as_the_schema_says(case: Any, editor_token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {editor_token}"}
    case.call_and_validate(checks=CHECKS)


@api_schema.exclude(method="GET").parametrize()
@fast(15)
def test_writes_without_a_token_answer_401(case: Any) -> None:
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call()
    assert response.status_code == 401, (response.status_code, response.text[:300])
