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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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

pytestmark = pytest.mark.slow

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


# --- ids no row can have ------------------------------------------------------------------

# Past a signed 64-bit integer (the widest key both databases hold), zero and below. In a
# body the schema states the bounds, so the negative mode above sends such ids; a path id
# has no bounds in the schema (any whole number may be asked for), so these cases send them.
OUT_OF_RANGE_IDS = st.one_of(
    st.sampled_from([2**63, 2**64, 99999999999999999999, 0, -1]),
    st.integers(min_value=2**63),
    st.integers(max_value=0),
)
DEMO_CAMPAIGN = "amazon-dump-ice"


def _id_paths() -> list[tuple[str, str, str]]:
    """(method, path, parameter) of every operation with a whole-number path parameter."""
    found = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for parameter in operation.path_parameters:
            if (parameter.definition.get("schema") or {}).get("type") == "integer":
                found.append((operation.method.upper(), operation.path, parameter.name))
    return found


ID_PATHS = _id_paths()


@pytest.fixture
def organiser_token(demo: None) -> str:
    """A live token of an organiser of the demo campaign, so campaign writes reach the id."""
    from receipts.campaigns.models import Campaign, MemberRole
    from tests.campaigns.factories import make_member, make_token

    campaign = Campaign.objects.get(slug=DEMO_CAMPAIGN)
    return make_token(make_member(campaign, "fuzz-organiser", MemberRole.ORGANISER), campaign)


def test_every_id_in_a_path_is_probed() -> None:
    assert {(m, p) for m, p, _ in ID_PATHS} >= {
        ("GET", "/api/ties/{tie_id}"),
        ("GET", "/api/sources/{source_id}"),
        ("PATCH", "/api/campaigns/{slug}/demands/{demand_id}"),
    }


@pytest.mark.parametrize(
    ("method", "path", "name"), ID_PATHS, ids=[f"{m} {p}" for m, p, _ in ID_PATHS]
)
@given(data=st.data())
@fast(5)
def test_an_id_no_row_can_have_in_a_path_answers_404(
    method: str, path: str, name: str, data: Any, editor_token: str, organiser_token: str
) -> None:
    operation = api_schema[path][method]
    case = data.draw(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    case.path_parameters = {**(case.path_parameters or {}), name: data.draw(OUT_OF_RANGE_IDS)}
    token = editor_token
    if "slug" in case.path_parameters and path.startswith("/api/campaigns/"):
        case.path_parameters["slug"] = DEMO_CAMPAIGN
        token = organiser_token
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call()
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    # 400 only for text the database cannot hold, refused before the id is looked up.
    assert response.status_code in (400, 404), (case.path_parameters, response.text[:300])
