"""Newcomers in a real browser, on the demo: find an entity by a misspelt name and watch it;
join from a campaign page and withdraw by the emailed link; accept an invitation with a
password and a second factor; log in as the demo organiser with the one-time link.

Every test runs under the guard of ``conftest.py``: nothing may load from another origin
and nothing may break the Content-Security-Policy.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.accounts import links
from receipts.accounts.models import AuthenticatorApp
from receipts.campaigns.models import Campaign, MemberRole
from receipts.demo import demo_organiser_link, load_demo
from receipts.outreach.models import Submission, Supporter
from receipts.watch.models import Watchlist
from tests.accounts.factories import next_code
from tests.browser.conftest import PageGuard
from tests.browser.test_outreach_pages import DEMO, FORM, fill_sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def demo(settings: Any) -> Campaign:
    settings.OUTREACH_MIN_FILL_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_demo()
    return Campaign.objects.get(slug="amazon-dump-ice")


def test_a_misspelt_search_finds_amazon_and_one_click_watches_it(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    User.objects.create_user("watcher", password=PASSWORD)
    page.goto(live_server.url + "/accounts/login/?next=/")
    page.get_by_label("Username").fill("watcher")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("searchbox", name="Search the site: entities, campaigns, documents").fill(
        "amazn"
    )
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-fuzzy")).to_be_visible()
    page.get_by_role("link", name="Amazon", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amazon")
    expect(page.locator("#campaigns-targeting")).to_contain_text("Amazon: dump ICE")
    expect(page.locator("#last-changed")).to_contain_text("Data last changed")
    page.get_by_role("button", name="Watch Amazon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Watchlist: Amazon")
    assert [e.slug for e in Watchlist.objects.get().entities.all()] == ["amazon"]

    page.goto(live_server.url + "/entities/?kind=agency")
    expect(page.locator("#entity-list")).to_contain_text("U.S. Immigration and Customs Enforcement")
    page_guard.assert_clean()


def test_a_visitor_joins_from_the_campaign_page_and_withdraws_by_the_emailed_link(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + DEMO)
    cta = page.locator("#call-to-action")
    expect(cta).to_be_visible()
    # Near the top: the call to action is on the first screen of a phone.
    assert cta.bounding_box()["y"] < 740
    cta.get_by_role("link").first.click()
    expect(page).to_have_url(live_server.url + FORM)
    fill_sign_up(page, "quillon.testperson@example.org")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert Submission.objects.count() == 1

    (message,) = mail.outbox
    assert message.to == ["quillon.testperson@example.org"]
    found = re.search(r"https?://[^/\s]+(/signed/withdraw/[^/\s]+/)", message.body)
    assert found is not None
    page.goto(live_server.url + found.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw your sign-up")
    page.get_by_role("button", name="Withdraw and erase").click()
    expect(page.locator("#link-done")).to_contain_text("erased")
    assert not Supporter.objects.exists()
    page_guard.assert_clean()


def test_an_invited_organiser_sets_a_password_and_a_second_factor(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    issued = links.invite(
        demo,
        "new.organiser@example.org",
        MemberRole.ORGANISER,
        invited_by=None,
        accept_url=lambda token: f"{live_server.url}/accounts/invitations/{token}/",
    )
    found = re.search(r"(/accounts/invitations/\S+/)", mail.outbox[-1].body)
    assert found is not None and issued.token in found.group(1)
    page.goto(live_server.url + found.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation to Amazon: dump ICE")
    page.get_by_label("Username").fill("neworg")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Make my account").click()
    expect(page.get_by_role("heading", name="Turn on two-factor login")).to_be_visible()
    device = AuthenticatorApp.objects.get(user__username="neworg")
    page.fill("#id_code", next_code(device))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Go on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage: Amazon: dump ICE")
    page_guard.assert_clean()


def test_the_demo_link_opens_the_organiser_pages_once(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    link = demo_organiser_link(live_server.url)
    page.goto(link)
    page.get_by_role("button", name="Log in as demo-organiser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage: Amazon: dump ICE")
    page.get_by_role("button", name="Log out demo-organiser").click()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    page_guard.assert_clean()
