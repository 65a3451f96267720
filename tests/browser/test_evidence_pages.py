"""The evidence pages in a real browser, on the demo data: search, rollups, the editor.

Every test runs under the guard of ``conftest.py``: nothing may load from
another origin and nothing may break the Content-Security-Policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.demo import load_demo
from receipts.evidence.models import Entity, Tie
from tests.browser.conftest import PageGuard
from tests.factories import make_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_TITLE = "Protesters Demand Amazon Cut Ties With ICE and Palantir"


def demo_entity(key: str) -> Entity:
    return Entity.objects.get(ftm_id=f"receipts-demo-{key}")


def tie_row(page: Page, text: str | re.Pattern[str]) -> Locator:
    """The one tie row on the page whose line contains ``text``."""
    rows = page.locator("li.tie").filter(has=page.locator(".tie-line", has_text=text))
    expect(rows).to_have_count(1)
    return rows


def expect_tie_map(page: Page, entity: Entity) -> None:
    """The tie map is drawn in the page, and its neighbours are links."""
    tiemap = page.locator("svg.tiemap")
    expect(tiemap).to_be_visible()
    expect(tiemap.locator("title").first).to_have_text(f"Ties of {entity.name}")
    box = tiemap.bounding_box()
    assert box is not None and box["width"] > 100
    assert tiemap.locator("a").count() > 0
    # The same picture is also served on its own, for embedding elsewhere.
    svg = page.request.get(page.url.split("/entities/")[0] + f"{entity.get_absolute_url()}map.svg")
    assert svg.ok
    assert svg.headers["content-type"].startswith("image/svg+xml")


def test_search_leads_to_ring_and_its_ended_flock_partnership_with_receipt(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    page.goto(live_server.url + "/")

    page.get_by_role("searchbox", name="Search the site: entities, campaigns, documents").fill(
        "Ring"
    )
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Search: “Ring”")
    page.locator("ul.results").get_by_role("link", name="Ring", exact=True).click()

    ring = demo_entity("ring")
    expect(page).to_have_url(live_server.url + ring.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ring")
    partnership = tie_row(page, "Flock Safety")
    expect(partnership.locator(".kind")).to_have_text("partnership")
    expect(partnership.locator(".badge")).to_have_text("Ended")
    receipt = partnership.locator("li.receipt")
    expect(receipt).to_have_count(1)
    expect(receipt.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    expect(receipt).to_contain_text(f"{REPORT_TITLE}, Truthout, 2026")
    expect_tie_map(page, ring)
    page_guard.assert_clean()


def test_amazon_with_subsidiaries_shows_aws_hosting_ice_and_cbp_through_aws(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    amazon, ice, cbp = demo_entity("amazon"), demo_entity("ice"), demo_entity("cbp")
    page.goto(live_server.url + amazon.get_absolute_url())
    # Amazon's own ties do not include the hosting ties: those belong to AWS.
    expect(page.locator("main").get_by_text(ice.name)).to_have_count(0)

    tabs = page.get_by_role("navigation", name="Views")
    tabs.get_by_role("link", name="With subsidiaries").click()

    expect(page).to_have_url(re.compile(r"\?rollup=1$"))
    expect(tabs.get_by_role("link", name="With subsidiaries")).to_have_attribute(
        "aria-current", "page"
    )
    for agency in (ice.name, cbp.name):
        row = tie_row(page, f"— hosting — {agency}")
        expect(row.locator(".path")).to_have_text(
            f"Amazon > Amazon Web Services — hosting — {agency}"
        )
        expect(row.locator(".badge")).to_have_text("Alleged")
        expect(row.locator("li.receipt").get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    expect_tie_map(page, amazon)
    page_guard.assert_clean()


def log_in(page: Page, live_server: LiveServer, username: str, password: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {username}")).to_be_visible()


def fill_new_tie(page: Page) -> None:
    page.get_by_label("Subject").fill("Palantir Technologies")
    page.get_by_label("Kind").select_option(label="Contract")
    page.get_by_label("Object").fill("ICE")
    page.get_by_label("Status").select_option(label="Alleged")
    page.get_by_label("Start date").fill("2026")
    page.get_by_label("Quote").fill("Palantir's contract with ICE")
    page.get_by_label("Locator").fill("paragraph 4")


def test_editor_cannot_save_a_tie_without_a_source_and_can_with_one(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    make_editor(username="editor", password="correct horse battery")
    ties_before = Tie.objects.count()
    palantir, ice = demo_entity("palantir"), demo_entity("ice")

    log_in(page, live_server, "editor", "correct horse battery")
    page.goto(live_server.url + "/edit/ties/new/")
    fill_new_tie(page)
    with page.expect_response(re.compile(r"/edit/ties/new/$")) as first:
        page.get_by_role("button", name="Save").click()
    assert first.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("New tie")
    source_field = page.locator(".field.has-error").filter(has=page.get_by_label("Source"))
    expect(source_field.locator(".errorlist")).to_have_text("This field is required.")
    # What the editor typed is kept, so adding the source is the only fix needed.
    expect(page.get_by_label("Subject")).to_have_value("Palantir Technologies")
    assert Tie.objects.count() == ties_before
    assert not Tie.objects.filter(subject=palantir, object=ice).exists()

    # The source is found by typing a few of its words: the site suggests it as one types.
    page.get_by_label("Source").fill("protesters demand")
    suggestion = page.locator("#id_source-options option")
    expect(suggestion).to_have_count(1)
    chosen = suggestion.get_attribute("value")
    assert chosen is not None and chosen.endswith(f": {REPORT_TITLE} (Truthout, 2026)")
    page.get_by_label("Source").fill(chosen)
    page.get_by_role("button", name="Save").click()

    tie = Tie.objects.get(subject=palantir, object=ice)
    expect(page).to_have_url(live_server.url + tie.get_absolute_url())
    assert Tie.objects.count() == ties_before + 1
    expect(page.locator("ul.messages")).to_contain_text("Recorded")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Palantir Technologies — contract — U.S. Immigration and Customs Enforcement"
    )
    receipt = page.locator("li.receipt")
    expect(receipt).to_have_count(1)
    expect(receipt.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    expect(receipt).to_contain_text("Truthout")
    expect(receipt.locator("blockquote")).to_have_text("Palantir's contract with ICE")
    expect(receipt.locator(".locator")).to_have_text("paragraph 4")
    page_guard.assert_clean()
