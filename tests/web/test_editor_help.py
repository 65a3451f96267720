"""Editors are helped: duplicates are flagged before saving, a tie's source is found by search."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from receipts.evidence.models import Source, Tie
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client: Client) -> Client:
    client.force_login(make_editor())
    return client


def tie_data(subject: str, obj: str, cited: Source, **extra: str) -> dict[str, str]:
    return {
        "subject": subject,
        "kind": "contract",
        "object": obj,
        "status": "active",
        "start_date": "2024",
        "end_date": "",
        "source": str(cited.pk),
        "quote": "",
        "locator": "",
        **extra,
    }


def test_new_tie_like_an_existing_one_is_flagged_with_a_link_before_saving(
    editor_client: Client,
) -> None:
    vendor, agency = make_entity("Vendor Co"), make_entity("Office of Tests", kind="agency")
    existing = make_tie(vendor, "contract", agency, start_date="2024")
    source = make_source("Second report")
    before = Tie.objects.count()

    response = editor_client.post(
        "/edit/ties/new/", tie_data("Vendor Co", "Office of Tests", source)
    )
    assert response.status_code == 409
    assert Tie.objects.count() == before
    html = response.content.decode()
    assert f'href="{existing.get_absolute_url()}"' in html
    assert f'href="/edit/ties/{existing.pk}/cite/"' in html
    assert "exists already" in html
    # What the editor typed is kept, and saving anyway is one tick away.
    assert 'value="Vendor Co"' in html and 'name="save_anyway"' in html

    response = editor_client.post(
        "/edit/ties/new/", tie_data("Vendor Co", "Office of Tests", source, save_anyway="1")
    )
    assert response.status_code == 302
    assert Tie.objects.count() == before + 1


def test_tie_with_other_dates_is_not_flagged(editor_client: Client) -> None:
    vendor, agency = make_entity("Vendor Co"), make_entity("Office of Tests", kind="agency")
    make_tie(vendor, "contract", agency, start_date="2023")
    response = editor_client.post(
        "/edit/ties/new/", tie_data("Vendor Co", "Office of Tests", make_source())
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("title", "url"),
    [
        ("A different title", "http://example.org/reports/ice-contract"),
        ("  ICE contract   REPORT ", ""),
    ],
)
def test_new_source_with_the_same_address_or_title_is_flagged(
    editor_client: Client, title: str, url: str
) -> None:
    existing = make_source(
        "ICE contract report", url="https://www.example.org/reports/ice-contract/"
    )
    data = {"kind": "news_report", "title": title, "publisher": "", "url": url}
    response = editor_client.post("/edit/sources/new/", data)
    assert response.status_code == 409
    assert f'href="{existing.get_absolute_url()}"' in response.content.decode()
    assert Source.objects.count() == 1

    response = editor_client.post("/edit/sources/new/", {**data, "save_anyway": "1"})
    assert response.status_code == 302
    assert Source.objects.count() == 2


def test_editing_a_source_does_not_flag_itself(editor_client: Client) -> None:
    source = make_source("Only report", url="https://example.org/only")
    response = editor_client.post(
        f"/edit/sources/{source.pk}/",
        {"kind": "news_report", "title": "Only report", "url": "https://example.org/only"},
    )
    assert response.status_code == 302


def test_tie_form_has_a_search_field_not_a_list_of_every_source(editor_client: Client) -> None:
    for i in range(30):
        make_source(f"Listed report {i}")
    html = editor_client.get("/edit/ties/new/").content.decode()
    field = re.search(r'<input[^>]*name="source"[^>]*>', html)
    assert field is not None
    assert 'type="search"' in field.group(0) and 'hx-get="/edit/sources/search/"' in field.group(0)
    assert "Listed report" not in html
    assert '<select name="source"' not in html


def test_source_is_found_by_its_words_or_its_number(editor_client: Client) -> None:
    vendor, agency = make_entity("Vendor Co"), make_entity("Office of Tests", kind="agency")
    wanted = make_source("Palantir wins ICE case management contract", publisher="The Intercept")
    other = make_source("Palantir and CBP", publisher="Reuters")

    by_words = tie_data("Vendor Co", "Office of Tests", wanted, source="palantir intercept")
    assert editor_client.post("/edit/ties/new/", by_words).status_code == 302
    assert Tie.objects.get(subject=vendor, object=agency).citations.get().source == wanted

    ambiguous = tie_data("Vendor Co", "Office of Tests", wanted, source="palantir", kind="hosting")
    response = editor_client.post("/edit/ties/new/", ambiguous)
    assert response.status_code == 400
    html = response.content.decode()
    assert "2 sources match “palantir”" in html
    # The matches are offered in the field's list, with their numbers.
    assert f'<option value="{other.pk}: Palantir and CBP (Reuters)">' in html

    by_number = tie_data(
        "Vendor Co",
        "Office of Tests",
        wanted,
        source=f"{other.pk}: Palantir and CBP",
        kind="hosting",
    )
    assert editor_client.post("/edit/ties/new/", by_number).status_code == 302
    assert Tie.objects.get(kind="hosting").citations.get().source == other


def test_source_search_answers_htmx_with_options_and_a_browser_with_a_page(
    editor_client: Client, client: Client
) -> None:
    source = make_source("Flock Safety and Ring", publisher="Truthout")
    fragment = editor_client.get(
        "/edit/sources/search/", {"source": "ring"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert (
        fragment.strip()
        == f'<option value="{source.pk}: Flock Safety and Ring (Truthout)"></option>'
    )
    page = editor_client.get("/edit/sources/search/", {"q": "truthout"}).content.decode()
    assert "<h1>Find a source</h1>" in page and source.get_absolute_url() in page


def test_source_search_is_for_editors_only() -> None:
    response = Client().get("/edit/sources/search/", {"q": "ring"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_tie_form_checks_for_duplicates_as_it_is_filled_in(editor_client: Client) -> None:
    vendor, agency = make_entity("Vendor Co"), make_entity("Office of Tests", kind="agency")
    existing = make_tie(vendor, "contract", agency, start_date="2024")
    query = {"subject": "Vendor Co", "object": "Office of Tests", "kind": "contract"}
    found = editor_client.get("/edit/ties/check/", {**query, "start_date": "2024"})
    assert f'href="{existing.get_absolute_url()}"' in found.content.decode()
    other_dates = editor_client.get("/edit/ties/check/", {**query, "start_date": "2023"})
    assert other_dates.content.decode().strip() == ""
    unknown = editor_client.get("/edit/ties/check/", {**query, "subject": "Nobody At All"})
    assert unknown.status_code == 200 and unknown.content.decode().strip() == ""
