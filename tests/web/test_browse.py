"""Finding your way: browse lists of entities and sources, typo-forgiving search, the home page's
picks, and what an entity page adds (campaigns targeting it, Watch, data last changed)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from receipts.campaigns.models import Visibility
from receipts.watch.models import Watchlist
from receipts.web import search
from tests.campaigns.factories import make_campaign, make_organisation
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


@pytest.fixture
def family() -> dict[str, object]:
    amazon = make_entity("Amazon.com, Inc.")
    aws = make_entity("Amazon Web Services")
    dhs = make_entity("Department of Homeland Security", kind="agency")
    ice = make_entity("U.S. Immigration and Customs Enforcement", kind="agency")
    palantir = make_entity("Palantir Technologies")
    unrelated = make_entity("Unrelated Corp")
    make_tie(amazon, "owns", aws)
    make_tie(ice, "part_of", dhs)
    make_tie(aws, "hosting", ice)
    make_tie(palantir, "contract", ice)
    make_tie(palantir, "partnership", unrelated)
    return {
        "amazon": amazon,
        "aws": aws,
        "dhs": dhs,
        "ice": ice,
        "palantir": palantir,
        "unrelated": unrelated,
    }


def test_search_forgives_a_typo(client: Client, family: dict) -> None:
    response = client.get("/", {"q": "amazn"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Amazon.com, Inc." in body
    assert "close spellings" in body
    assert "Unrelated Corp" not in body


def test_search_covers_campaigns_and_sources(client: Client, family: dict) -> None:
    make_campaign("Dump ICE campaign", targets=[family["amazon"]])
    make_campaign("Secret plan", targets=[family["amazon"]], visibility=Visibility.PRIVATE)
    make_source("Palantir renews its ICE case-management contract")
    body = client.get("/", {"q": "dump ice campain"}).content.decode()
    assert "Dump ICE campaign" in body
    body = client.get("/", {"q": "palantir renews"}).content.decode()
    assert "Palantir renews its ICE case-management contract" in body
    # A private campaign is never found by someone who cannot see it.
    assert "Secret plan" not in client.get("/", {"q": "secret plan"}).content.decode()


def test_fuzzy_names_reload_when_an_entity_changes(family: dict) -> None:
    assert search.ENTITY_NAMES.match("palantr", 5) == [family["palantir"].pk]
    newcomer = make_entity("Clearview AI")
    assert newcomer.pk in search.ENTITY_NAMES.match("clearveiw", 5)


def test_entity_list_filters_by_kind_and_pages(client: Client, family: dict) -> None:
    for i in range(55):
        make_entity(f"Agency {i:02d}", kind="agency")
    page1 = client.get("/entities/", {"kind": "agency"}).content.decode()
    assert "Agency 00" in page1
    assert "Amazon.com" not in page1
    assert "page 1 of 2" in page1
    page2 = client.get("/entities/", {"kind": "agency", "page": "2"}).content.decode()
    assert "Agency 54" in page2
    assert "kind=agency&amp;page=1" in page2


def test_entity_list_tied_to_a_department_counts_its_components(
    client: Client, family: dict
) -> None:
    body = client.get("/entities/", {"tied_to": family["dhs"].slug}).content.decode()
    # AWS hosts ICE and Palantir contracts with it: both are tied to DHS through ICE.
    assert "Amazon Web Services" in body
    assert "Palantir Technologies" in body
    assert "Unrelated Corp" not in body
    assert "U.S. Immigration" not in body.split('id="entity-list"')[1]


def test_entity_list_by_campaign_lists_targets_families_and_coalition(
    client: Client, family: dict
) -> None:
    campaign = make_campaign("Dump ICE", targets=[family["amazon"]])
    from receipts.campaigns import services

    services.add_coalition_member(campaign, make_organisation("Tech Workers Coalition"))
    body = client.get("/entities/", {"campaign": campaign.slug}).content.decode()
    listed = body.split('id="entity-list"')[1]
    assert "Amazon Web Services" in listed
    assert "Tech Workers Coalition" in listed
    assert "Palantir" not in listed


def test_entity_list_names_an_unknown_filter(client: Client, family: dict) -> None:
    response = client.get("/entities/", {"tied_to": "no-such-agency"})
    assert response.status_code == 400
    assert "no-such-agency" in response.content.decode()


def test_source_list_pages_and_filters(client: Client) -> None:
    for i in range(51):
        make_source(f"Report {i:02d}", kind="news_report")
    make_source("A court filing", kind="court_filing")
    body = client.get("/sources/", {"kind": "court_filing"}).content.decode()
    assert "A court filing" in body
    assert "Report 01" not in body
    assert "page 1 of 2" in client.get("/sources/").content.decode()


def test_home_features_public_campaigns_and_most_tied_entities(
    client: Client, family: dict
) -> None:
    make_campaign("Dump ICE", targets=[family["amazon"]])
    make_campaign("Hidden", visibility=Visibility.PRIVATE)
    body = client.get("/").content.decode()
    assert "Dump ICE" in body
    assert "Hidden" not in body
    most = body.split('id="home-most-tied"')[1]
    # ICE has two ties (hosting, contract), Palantir two; the structural ones do not count.
    assert most.index("Palantir") < most.index("Unrelated Corp")
    assert "2 ties" in most
    assert "1 tie<" in most


def test_counts_say_one_source_not_one_sources(client: Client) -> None:
    make_source("Only one")
    body = client.get("/").content.decode()
    assert "1 source<" in body
    assert "1 sources" not in body


def test_entity_page_lists_campaigns_targeting_it_and_its_parent(
    client: Client, family: dict
) -> None:
    make_campaign("Dump ICE", targets=[family["amazon"]])
    body = client.get(family["aws"].get_absolute_url()).content.decode()
    assert 'id="campaigns-targeting"' in body
    assert "Dump ICE" in body
    assert "(targets Amazon.com, Inc.)" in body
    assert 'id="last-changed"' in body


def test_watch_button_makes_a_watchlist_in_one_step(client: Client, family: dict) -> None:
    user = User.objects.create_user("watcher", password="pw-long-enough-1")
    client.force_login(user)
    page = client.get(family["ice"].get_absolute_url()).content.decode()
    assert 'id="watch-button"' in page
    response = client.post(f"/entities/{family['ice'].slug}/watch/")
    watchlist = Watchlist.objects.get(owner=user)
    assert response.status_code == 302
    assert response["Location"] == f"/watch/{watchlist.pk}/"
    assert list(watchlist.entities.all()) == [family["ice"]]
    # Again: the same watchlist, not a second one.
    client.post(f"/entities/{family['ice'].slug}/watch/")
    assert Watchlist.objects.filter(owner=user).count() == 1


def test_watch_needs_a_login(client: Client, family: dict) -> None:
    response = client.post(f"/entities/{family['ice'].slug}/watch/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Watchlist.objects.exists()


def test_favicon_is_served(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in client.get("/").content.decode()
