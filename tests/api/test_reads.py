"""Public reads: entities, their ties and rollups, single ties and sources, without a token."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from receipts.demo import load_demo
from receipts.evidence import services
from receipts.evidence.models import Entity
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def demo_entity(key: str) -> Entity:
    return Entity.objects.get(ftm_id=f"receipts-demo-{key}")


def test_rollup_finds_aws_hosting_ice_and_cbp_for_amazon_to_dhs(client: Client) -> None:
    load_demo()
    amazon, aws = demo_entity("amazon"), demo_entity("aws")
    ice, cbp, dhs = demo_entity("ice"), demo_entity("cbp"), demo_entity("dhs")

    response = client.get(
        f"/api/entities/{amazon.slug}/ties",
        {"rollup": "true", "to": "U.S. Department of Homeland Security"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["entity"] == {"slug": amazon.slug, "name": "Amazon"}
    assert body["to"] == {"slug": dhs.slug, "name": dhs.name}
    assert body["rollup"] is True
    ties = sorted(body["ties"], key=lambda t: t["object"]["name"])
    assert [(t["subject"]["slug"], t["kind"], t["object"]["slug"]) for t in ties] == [
        (aws.slug, "hosting", cbp.slug),
        (aws.slug, "hosting", ice.slug),
    ]
    assert [t["path"] for t in ties] == [
        f"Amazon > Amazon Web Services — hosting — {cbp.name} < {dhs.name}",
        f"Amazon > Amazon Web Services — hosting — {ice.name} < {dhs.name}",
    ]
    assert ties[1]["near_path"] == [amazon.slug, aws.slug]
    assert ties[1]["far_path"] == [ice.slug, dhs.slug]
    assert ties[1]["status"] == "alleged"
    citation = ties[1]["citations"][0]
    assert citation["title"] == "Protesters Demand Amazon Cut Ties With ICE and Palantir"
    assert citation["publisher"] == "Truthout"
    assert citation["published"] == "2026"
    assert citation["url"] is None


def test_without_rollup_amazon_has_no_ties_to_dhs(client: Client) -> None:
    load_demo()
    response = client.get("/api/entities/amazon/ties", {"to": "DHS"})
    assert response.status_code == 200
    assert response.json()["ties"] == []


def test_ties_to_an_unknown_name_answer_404_with_the_name(client: Client) -> None:
    make_entity("Acme")
    response = client.get("/api/entities/acme/ties", {"to": "Nowhere Agency"})
    assert response.status_code == 404
    assert "Nowhere Agency" in response.json()["detail"]


def test_ties_to_an_ambiguous_name_answer_400_listing_candidates(client: Client) -> None:
    make_entity("Acme")
    make_entity("Border Agency North", kind="agency")
    make_entity("Border Agency South", kind="agency")
    response = client.get("/api/entities/acme/ties", {"to": "Border Agency"})
    assert response.status_code == 400
    body = response.json()
    assert "ambiguous" in body["detail"]
    assert "Border Agency North" in body["detail"]
    assert {c["slug"] for c in body["candidates"]} == {
        "border-agency-north",
        "border-agency-south",
    }


def test_ties_of_an_unknown_slug_answer_404(client: Client) -> None:
    response = client.get("/api/entities/no-such-entity/ties")
    assert response.status_code == 404
    assert "no-such-entity" in response.json()["detail"]


def test_entity_shows_aliases_identifiers_and_parents(client: Client) -> None:
    parent = make_entity("Parent Co")
    child = make_entity(
        "Child Co",
        aliases=["Kid"],
        identifiers={"ticker": ["kid"], "uei": ["abc123"]},
        country="us",
    )
    make_tie(parent, "owns", child)

    response = client.get(f"/api/entities/{child.slug}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Child Co"
    assert body["kind"] == "company"
    assert body["aliases"] == ["Kid"]
    assert body["country"] == "us"
    assert body["identifiers"] == [
        {"scheme": "ticker", "value": "KID"},
        {"scheme": "uei", "value": "ABC123"},
    ]
    assert body["parents"] == [[{"slug": parent.slug, "name": "Parent Co"}]]
    assert body["page"] == child.get_absolute_url()


def test_unknown_entity_answers_404(client: Client) -> None:
    assert client.get("/api/entities/nobody").status_code == 404


def test_entities_are_listed_by_name_in_pages(client: Client) -> None:
    for name in ("Cedar", "Alder", "Birch"):
        make_entity(name)
    first = client.get("/api/entities", {"limit": 2}).json()
    assert [e["name"] for e in first["items"]] == ["Alder", "Birch"]
    assert first["next_offset"] == 2
    second = client.get("/api/entities", {"limit": 2, "offset": first["next_offset"]}).json()
    assert [e["name"] for e in second["items"]] == ["Cedar"]
    assert second["next_offset"] is None


def test_entity_search_puts_exact_matches_first_and_filters_by_kind(client: Client) -> None:
    make_entity("Amazon Web Services")
    make_entity("Amazon", aliases=["Amazon.com"])
    make_entity("Amazon Watch", kind="organization")

    found = client.get("/api/entities", {"q": "amazon"}).json()
    assert [e["name"] for e in found["items"]] == ["Amazon", "Amazon Watch", "Amazon Web Services"]

    organisations = client.get("/api/entities", {"q": "amazon", "kind": "organization"}).json()
    assert [e["name"] for e in organisations["items"]] == ["Amazon Watch"]


def test_search_pages_with_a_kind_filter_skip_nothing(client: Client) -> None:
    for i in range(7):
        make_entity(f"Border Firm {i}")
        make_entity(f"Border Office {i}", kind="agency")
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        params: dict[str, str | int] = {"q": "border", "kind": "agency", "limit": 3}
        page = client.get("/api/entities", {**params, "offset": offset}).json()
        seen.extend(e["name"] for e in page["items"])
        offset = page["next_offset"]
    assert seen == [f"Border Office {i}" for i in range(7)]


def test_bad_query_parameters_are_refused(client: Client) -> None:
    assert client.get("/api/entities", {"limit": 0}).status_code == 422
    assert client.get("/api/entities", {"limit": 10_000}).status_code == 422
    assert client.get("/api/entities", {"kind": "person"}).status_code == 422
    # Past a 64-bit integer the database would fail: refused before it.
    refused = client.get("/api/sources", {"offset": 2**70})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "offset"]


def test_text_no_entity_can_hold_matches_nothing(client: Client) -> None:
    make_entity("Amazon")
    assert client.get("/api/entities", {"q": "Ama\u0000zon"}).json()["items"] == []
    assert client.get("/api/entities/ama%00zon").status_code == 404


def test_tie_shows_partial_dates_amount_and_citations(client: Client) -> None:
    supplier, agency = make_entity("Supplier"), make_entity("Agency", kind="agency")
    source = make_source("Award notice", kind="government_record", published="2026-02")
    tie = services.record_tie(
        supplier,
        agency,
        "contract",
        citations=[services.CitationInput(source, "awarded to Supplier", "row 7")],
        start_date="2026-02",
        amount="1250000",
        currency="usd",
    )

    response = client.get(f"/api/ties/{tie.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["start_date"] == "2026-02"
    assert body["end_date"] is None
    assert body["amount"] == "1250000.00"
    assert body["currency"] == "USD"
    assert body["path"] == "Supplier — contract — Agency"
    assert body["near_path"] == [supplier.slug]
    assert body["far_path"] == []
    assert body["citations"] == [
        {
            "id": tie.citations.get().pk,
            "source_id": source.pk,
            "title": "Award notice",
            "publisher": "",
            "published": "2026-02",
            "url": None,
            "archive_sha256": None,
            "quote": "awarded to Supplier",
            "locator": "row 7",
        }
    ]


def test_unknown_tie_answers_404(client: Client) -> None:
    response = client.get("/api/ties/999999")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


def test_source_lists_the_claims_it_backs(client: Client) -> None:
    source = make_source("Annual report", publisher="Acme Inc.", published="2025")
    a, b = make_entity("Acme"), make_entity("Agency", kind="agency")
    tie = make_tie(a, "contract", b, source=source)

    response = client.get(f"/api/sources/{source.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Annual report"
    assert body["published"] == "2025"
    assert body["backs"] == [
        {
            "citation_id": tie.citations.get().pk,
            "quote": "a quote",
            "locator": "p. 1",
            "tie": {
                "id": tie.pk,
                "subject": {"slug": a.slug, "name": "Acme"},
                "kind": "contract",
                "object": {"slug": b.slug, "name": "Agency"},
                "status": "active",
            },
            "entity": None,
        }
    ]


def test_sources_are_listed_newest_first_in_pages(client: Client) -> None:
    make_source("Old", published="2019")
    make_source("New", published="2026-02")
    make_source("Middle", published="2024")
    first = client.get("/api/sources", {"limit": 2}).json()
    assert [s["title"] for s in first["items"]] == ["New", "Middle"]
    assert first["next_offset"] == 2
    rest = client.get("/api/sources", {"offset": 2}).json()
    assert [s["title"] for s in rest["items"]] == ["Old"]
    assert rest["next_offset"] is None


def test_unknown_source_answers_404(client: Client) -> None:
    assert client.get("/api/sources/424242").status_code == 404


def test_a_long_list_of_ties_comes_in_pages_with_a_total_and_few_citations_each(
    client: Client,
) -> None:
    agency = make_entity("Agency In Pages", kind="agency")
    for n in range(7):
        make_tie(
            make_entity(f"Supplier {n}"), "contract", agency, amount=Decimal(n), currency="USD"
        )
    partner = make_entity("Partner In Pages")
    cited = make_tie(agency, "partnership", partner)
    for _ in range(24):  # 25 citations in all
        services.cite_tie(cited, services.CitationInput(make_source(), "more", ""))

    url = f"/api/entities/{agency.slug}/ties"
    first = client.get(url, {"kind": "contract", "limit": 3}).json()
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (7, 3, 0, 3)
    assert first["kind"] == "contract" and len(first["ties"]) == 3
    last = client.get(url, {"kind": "contract", "limit": 3, "offset": 6}).json()
    assert len(last["ties"]) == 1 and last["next_offset"] is None
    seen = {t["id"] for t in first["ties"]} | {t["id"] for t in last["ties"]}
    middle = client.get(url, {"kind": "contract", "limit": 3, "offset": 3}).json()
    assert len(seen | {t["id"] for t in middle["ties"]}) == 7  # no tie twice, none lost

    everything = client.get(url).json()
    assert everything["total"] == 8 and everything["kind"] is None
    listed = next(t for t in everything["ties"] if t["id"] == cited.pk)
    assert listed["citation_count"] == 25 and len(listed["citations"]) == 20
    alone = client.get(f"/api/ties/{cited.pk}").json()
    assert alone["citation_count"] == 25 and len(alone["citations"]) == 25

    assert client.get(url, {"limit": 0}).status_code == 422
    assert client.get(url, {"kind": "nonsense"}).status_code == 422
