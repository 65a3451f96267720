"""The tie map: full names, the path of a rollup, busy neighbourhoods grouped, a legend."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from receipts.demo import load_demo
from receipts.evidence.models import Entity
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(client: Client, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200
    return ET.fromstring(response.content)  # noqa: S314 - the site's own map


def names_drawn(svg: ET.Element) -> list[str]:
    """Each text of the map as read: its wrapped lines joined again."""
    return [" ".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


def line_titles(svg: ET.Element) -> list[str]:
    return [
        "".join(line.find(f"{SVG}title").itertext())  # type: ignore[union-attr]
        for line in svg.iter(f"{SVG}line")
        if line.find(f"{SVG}title") is not None
    ]


def test_names_are_wrapped_whole_never_cut(client: Client) -> None:
    load_demo()
    svg = svg_of(client, "/entities/amazon/map.svg?rollup=1")
    drawn = names_drawn(svg)
    assert "U.S. Immigration and Customs Enforcement" in drawn
    assert not any("…" in text for text in drawn)
    # Wrapped: the long name is on more than one line.
    ice = next(t for t in svg.iter(f"{SVG}text") if "Immigration" in " ".join(t.itertext()))
    assert len(ice.findall(f"{SVG}tspan")) > 1


def test_rollup_map_runs_through_the_subsidiary_to_the_agency(client: Client) -> None:
    load_demo()
    titles = line_titles(svg_of(client, "/entities/amazon/map.svg?rollup=1"))
    ice = "U.S. Immigration and Customs Enforcement"
    assert "Amazon Web Services is part of the family of Amazon" in titles
    assert f"Amazon Web Services — hosting (alleged) — {ice}" in titles
    # Not drawn as if Amazon itself hosted ICE.
    assert not any(t.startswith("Amazon — ") and ice in t for t in titles)


def test_agency_with_many_contract_ties_is_drawn_as_one_counted_group(client: Client) -> None:
    agency = make_entity("Office of Busy Procurement", kind="agency")
    source = make_source()
    for i in range(60):
        make_tie(make_entity(f"Vendor {i:02d}"), "contract", agency, source=source)
    partner = make_entity("Data Partner Inc")
    make_tie(partner, "data_sharing", agency, source=source)

    html = client.get(agency.get_absolute_url()).content.decode()
    svg = ET.fromstring(html[html.index("<svg") : html.index("</svg>") + 6])  # noqa: S314
    groups = [a for a in svg.iter(f"{SVG}a") if "kind-group" in a.get("class", "")]
    assert [" ".join(a.itertext()) for a in groups] == ["Contract: 60 ties"]
    assert groups[0].get("href") == f"{agency.get_absolute_url()}?kind=contract#ties"
    drawn = names_drawn(svg)
    assert "Data Partner Inc" in drawn
    assert not any(name.startswith("Vendor") for name in drawn)


def test_entity_page_explains_the_map_and_points_to_the_tie_list(client: Client) -> None:
    load_demo()
    html = client.get("/entities/amazon/", {"rollup": "1"}).content.decode()
    for key in ("Legend", "Active tie", "Alleged", "Ended", "Agency", "Company"):
        assert key in html
    assert 'aria-describedby="tiemap-alternative"' in html
    assert 'href="#ties"' in html and 'id="ties"' in html
    assert Entity.objects.filter(slug="amazon").exists()
