"""How many queries each public page costs, pinned: an N+1 comes back as a failure here.

The counts are those of an uncached render (inside a test's transaction the
page cache stands aside). Each page is also asked again after more of the
data it lists was added: a page whose count grows with its rows fails.
"""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.campaigns import services as campaigns
from receipts.campaigns.models import Campaign, DemandStatus
from receipts.demo import load_demo
from receipts.evidence import services as evidence
from receipts.evidence.models import Entity
from receipts.web.search import ENTITY_NAMES, SOURCE_TITLES
from tests.campaigns.factories import cite, make_organisation
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

CAMPAIGN = "/campaigns/amazon-dump-ice/"

# Queries per page on the demo: what each page reads, once.
EXPECTED = {
    # three counts, public campaigns, the busiest ends of ties (two), their exact
    # counts (two), the entities
    "/": 9,
    # exact matches, partial matches, the entity names' signature and (changed since
    # the last search) the names; visible campaigns; sources, their titles' signature
    # and the titles
    "/?q=Amazon": 8,
    # entity, identifiers, parents, the listing of all ties (light rows), the listed
    # ties, their first receipts, contract totals; campaigns targeting it and their
    # targets; when its ties and their citations last changed; how fresh its
    # USAspending records are (a covering subscription, else the last import)
    "/entities/amazon/": 13,
    # and the family (once), the names on its paths, no parents query twice; the
    # totals: the family with its former members, their ties, the names on their
    # paths, the ownership ties that date them; and the two of USAspending freshness
    "/entities/amazon/?rollup=1": 18,
    # campaign, targets, the target's family, ties, receipts, names; demands,
    # their ties, status history, its receipts, the ties' receipts; actions,
    # their receipts and participants; coalition; goals, their receipts and updates;
    # on the page (not the brief) its open sign-up forms, and the coming ends
    # of the target ties' contracts
    CAMPAIGN: 20,
    f"{CAMPAIGN}brief/": 18,
    # campaigns with their tallies counted in the same query
    "/campaigns/": 1,
    # family, ties, names, receipts, contract totals, and the ownership ties that date members
    "/api/entities/amazon/ties?rollup=true": 6,
    "/api/campaigns/amazon-dump-ice": 18,
}


@pytest.fixture
def demo() -> Campaign:
    load_demo()
    # Each process keeps the names fuzzy search reads; an earlier test in this process
    # may have left a list whose signature matches by chance (ids reused after a
    # rollback). Start without one, so the search counts its loading queries.
    ENTITY_NAMES.forget()
    SOURCE_TITLES.forget()
    return Campaign.objects.get(slug="amazon-dump-ice")


def _queries(client: Client, path: str, django_assert_num_queries, expected: int) -> None:
    with django_assert_num_queries(expected):
        response = client.get(path)
    assert response.status_code == 200, path


@pytest.mark.parametrize("path", list(EXPECTED))
def test_public_page_costs_a_fixed_number_of_queries(
    client: Client, demo: Campaign, django_assert_num_queries, path: str
):
    _queries(client, path, django_assert_num_queries, EXPECTED[path])


def _grow_campaign(campaign: Campaign) -> None:
    """More of everything the campaign page lists: demands with ties, actions, coalition, goals."""
    amazon = Entity.objects.get(slug="amazon")
    for i in range(3):
        agency = make_entity(f"Agency {i}", kind="agency")
        tie = make_tie(amazon, "contract", agency, amount="10", currency="USD")
        for _ in range(3):
            evidence.cite_tie(tie, cite())
        demand = campaigns.add_demand(campaign, f"End contract {i}", ties=[tie])
        campaigns.change_demand_status(
            demand, DemandStatus.PARTLY_MET, date="2026-01", citation=cite()
        )
        campaigns.record_action(
            campaign,
            kind="rally",
            title=f"Protest {i}",
            date="2026-02",
            citations=[cite(), cite()],
            participants=[make_organisation(), make_organisation()],
        )
        campaigns.add_coalition_member(campaign, make_organisation())
        campaigns.set_goal(campaign, metric=f"Goal {i}", target=10 + i)


def test_campaign_page_queries_do_not_grow_with_its_rows(
    client: Client, demo: Campaign, django_assert_num_queries
):
    _grow_campaign(demo)
    for path in (CAMPAIGN, f"{CAMPAIGN}brief/", "/api/campaigns/amazon-dump-ice"):
        _queries(client, path, django_assert_num_queries, EXPECTED[path])


def test_entity_page_queries_do_not_grow_with_its_ties(
    client: Client, demo: Campaign, django_assert_num_queries
):
    amazon = Entity.objects.get(slug="amazon")
    source = make_source()
    for i in range(5):
        make_tie(amazon, "partnership", make_entity(f"Partner {i}"), source=source)
    # A deeper family: a subsidiary of a subsidiary, with ties of its own.
    child = make_entity("Amazon Child")
    grandchild = make_entity("Amazon Grandchild")
    make_tie(amazon, "owns", child)
    make_tie(child, "owns", grandchild)
    make_tie(grandchild, "partnership", make_entity("Grandchild Partner"))
    for path in (
        "/entities/amazon/",
        "/entities/amazon/?rollup=1",
        "/api/entities/amazon/ties?rollup=true",
    ):
        _queries(client, path, django_assert_num_queries, EXPECTED[path])


def test_parents_are_read_in_one_query_however_deep(
    client: Client, demo: Campaign, django_assert_num_queries
):
    top = make_entity("Top Holding")
    middle = make_entity("Middle Holding")
    make_tie(top, "owns", middle)
    make_tie(middle, "owns", Entity.objects.get(slug="amazon"))
    # Parents now exist: their names are read in one more query, whatever the depth.
    _queries(
        client, "/entities/amazon/", django_assert_num_queries, EXPECTED["/entities/amazon/"] + 1
    )
    html = client.get("/entities/amazon/").content.decode()
    assert html.index("Middle Holding") < html.index("Top Holding")


def test_campaign_list_counts_tallies_in_one_query(
    client: Client, demo: Campaign, django_assert_num_queries
):
    for i in range(4):
        campaign = campaigns.create_campaign(name=f"Campaign {i}", targets=[])
        campaigns.add_demand(campaign, "A demand")
    _queries(client, "/campaigns/", django_assert_num_queries, EXPECTED["/campaigns/"])
    assert "0 of 1 demand met" in client.get("/campaigns/").content.decode()
