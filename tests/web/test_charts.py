"""The obligations chart: named axes, values written on it, figures beside it, no bar left unexplained."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from receipts.contracts.models import ContractTotals
from receipts.evidence.models import Entity
from receipts.web.charts import nice_step, obligations_chart_svg
from tests.factories import make_entity, make_tie

pytestmark = pytest.mark.django_db


def test_chart_names_its_axes_and_writes_each_value() -> None:
    svg = obligations_chart_svg({2023: 150_000_00, 2025: -2_000_00}, "Obligations")
    assert "Fiscal year (October to September)" in svg
    assert "US dollars obligated" in svg
    for value in ("$150.0K", "-$2.0K"):
        assert f">{value}</text>" in svg
    # Every year on the axis, the year without obligations included.
    for year in ("2023", "2024", "2025"):
        assert f">{year}</text>" in svg


def test_gridlines_are_round_steps() -> None:
    assert nice_step(150_000_00) == 50_000_00
    assert nice_step(7) == 2


def agency_with_contracts() -> Entity:
    agency = make_entity("Office of Examples", kind="agency")
    imported = make_tie(
        make_entity("Imported Vendor"), "contract", agency, amount=Decimal(3000), currency="USD"
    )
    ContractTotals.objects.create(
        tie=imported,
        obligated_cents=300_000,
        award_count=1,
        transaction_count=2,
        first_action_date="2024-11-02",
        last_action_date="2025-01-10",
        by_fiscal_year={"2025": 300_000},
    )
    make_tie(
        make_entity("Hand-entered Vendor"),
        "contract",
        agency,
        amount=Decimal("5000"),
        currency="USD",
    )
    make_tie(make_entity("Vendor Without Amount"), "contract", agency)
    return agency


def test_entity_page_puts_the_figures_beside_the_chart_in_plain_words(client: Client) -> None:
    html = client.get(agency_with_contracts().get_absolute_url()).content.decode()
    figure = html[
        html.index('<figure class="obligations">') : html.index(
            "</figure>", html.index('<figure class="obligations">')
        )
    ]
    assert '<div class="chart-with-table">' in figure
    assert "<details" not in figure, "the table is beside the chart, not folded away"
    assert '<th scope="row">2025</th><td class="num">3,000</td>' in figure
    for field_name in ("federal_action_obligation", "total_obligated_amount", "FY2025"):
        assert field_name not in figure


def test_hand_entered_contract_amount_is_said_apart_from_the_chart(client: Client) -> None:
    html = client.get(agency_with_contracts().get_absolute_url()).content.decode()
    assert (
        "Not in the chart: 1 contract tie with an amount entered by hand and no yearly "
        "spending records (USD 5,000.00); it is in the list of contracts below."
    ) in html
    assert "1 contract tie has no amount at all." in html
