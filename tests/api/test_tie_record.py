"""One record of a tie: ``receipts ties --format json`` and the API give the same JSON.

Both read the ties, their citations and their contract totals through
``receipts.evidence.records``; a tie's JSON differs in neither keys nor values
between the two, with and without a rollup, and with the counted amounts of
family totals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from django.test import Client

from receipts.cli import main
from receipts.demo import load_demo
from receipts.evidence.queries import resolve_entity
from receipts.ingest.usaspending.importer import import_usaspending

pytestmark = pytest.mark.django_db

AWARDS_SAMPLE = (
    Path(__file__).parent.parent / "data/usaspending/ice_umn_Contracts_PrimeAwardSummaries.csv"
)
DHS = "U.S. Department of Homeland Security"


def _cli_ties(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["ties", *args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["ties"]


def _api_ties(client: Client, name: str, **params: str) -> list[dict[str, Any]]:
    slug = resolve_entity(name).slug
    response = client.get(f"/api/entities/{slug}/ties?{urlencode({'limit': '500', **params})}")
    assert response.status_code == 200, response.content
    return response.json()["ties"]


@pytest.fixture
def graph() -> None:
    load_demo()
    import_usaspending([AWARDS_SAMPLE])


@pytest.mark.parametrize(
    ("name", "cli_args", "api_params"),
    [
        ("Amazon", [], {}),
        ("Amazon", ["--rollup", "--to", DHS], {"rollup": "true", "to": DHS}),
        ("CB47L9C9MDX1", ["--rollup", "--to", DHS], {"rollup": "true", "to": DHS}),
        (
            "CB47L9C9MDX1",
            ["--rollup", "--members", "current"],
            {"rollup": "true", "members": "current"},
        ),
        ("U.S. Immigration and Customs Enforcement", [], {}),
    ],
)
def test_cli_json_and_api_give_each_tie_the_same_record(
    client: Client, graph: None, name: str, cli_args: list[str], api_params: dict[str, str]
) -> None:
    cli = _cli_ties(name, *cli_args)
    api = _api_ties(client, name, **api_params)
    assert cli, "the case lists no tie"
    assert [t["path"] for t in cli] == [t["path"] for t in api]
    for from_cli, from_api in zip(cli, api, strict=True):
        assert sorted(from_cli) == sorted(from_api), from_api["path"]
        assert from_cli == from_api


def test_the_cases_cover_contract_totals_and_counted_amounts(client: Client, graph: None) -> None:
    """The record compared above carries a contract's totals and a counted amount."""
    ties = _cli_ties("CB47L9C9MDX1", "--rollup", "--to", DHS)
    assert any(t["contract_totals"] for t in ties)
    assert any(t["counted_amount"] for t in ties)
