"""Paper: the printable flyer fits one page with all its text; the brief is dated and reads cleanly.

Printed by the real browser (Chromium's PDF output), on the demo.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.campaigns.models import Campaign
from receipts.demo import CAMPAIGN_SLUG, FLYER_CODE, load_demo
from receipts.outreach.models import SignupForm
from tests.browser.conftest import PageGuard
from tests.browser.test_outreach_pages import organiser_logs_in_with_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A PDF page object, not the page tree (/Type /Pages).
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_flyer_is_one_page_with_its_whole_intro(
    page: Page, live_server: LiveServer, page_guard: PageGuard, paper: str
) -> None:
    load_demo()
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    intro = SignupForm.objects.get(campaign=campaign).intro
    organiser_logs_in_with_code(page, live_server, campaign)
    page.goto(f"{live_server.url}/campaigns/{CAMPAIGN_SLUG}/flyers/{FLYER_CODE}/print/")
    expect(page.locator("#flyer-title")).to_be_visible()
    expect(page.locator(".flyer-intro")).to_have_text(intro)
    assert intro.endswith("AECJ will get in touch.")

    page.emulate_media(media="print")
    pdf = page.pdf(format=paper, prefer_css_page_size=True)
    assert len(PDF_PAGE.findall(pdf)) == 1, f"the flyer runs over one {paper} page"
    page_guard.assert_clean()


def test_brief_is_dated_and_reads_as_sentences(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    page.goto(f"{live_server.url}/campaigns/{CAMPAIGN_SLUG}/brief/")
    expect(page.locator("#brief-as-of")).to_have_text(re.compile(r"^As of \d{1,2} \w+ \d{4}\.$"))
    text = page.locator("#brief").inner_text()
    assert "1 of 3 demands met." in text
    assert " ." not in text
    assert "ended, ended" not in text
    assert "Ring — partnership — Flock Safety (ended 2026)" in text
    page_guard.assert_clean()
