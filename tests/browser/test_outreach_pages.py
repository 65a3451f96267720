"""Outreach in a real browser, on the demo: a flyer's sign-up, its review, attribution and goal.

Every test runs under the guard of ``conftest.py``: nothing may load from
another origin and nothing may break the Content-Security-Policy.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.campaigns.models import Campaign, MemberRole
from receipts.demo import load_demo
from receipts.outreach.models import Submission, SubmissionStatus
from tests.accounts.factories import enrol, next_code
from tests.browser.conftest import PageGuard
from tests.campaigns.factories import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "/campaigns/amazon-dump-ice/"
FORM = DEMO + "join/amazon-employees/"
OUTREACH = "/edit/campaigns/amazon-dump-ice/outreach/"
PASSWORD = "correct horse battery"
SEATTLE_RALLY = "Rally outside Amazon's headquarters in Seattle"
WORK_WARNING = "This looks like a work address."


@pytest.fixture
def demo(settings: Any) -> Campaign:
    # The form refuses a sign-up sent within seconds of opening it; the test types instantly.
    settings.OUTREACH_MIN_FILL_SECONDS = 0
    load_demo()
    return Campaign.objects.get(slug="amazon-dump-ice")


def fill_sign_up(page: Page, email: str) -> None:
    page.get_by_label("Name", exact=False).fill("Quillon Testperson")
    page.get_by_label("Email", exact=False).fill(email)
    page.get_by_label("Employer").fill("Amazon")
    page.get_by_label("Role or job title").fill("Warehouse associate")
    page.get_by_label("City").fill("Seattle")
    page.get_by_label("I agree that Amazon Employees for Climate Justice keeps").check()


def open_flyer(page: Page, live_server: LiveServer) -> None:
    """Follow the flyer's QR code: the form opens with the flyer kept as the source."""
    page.goto(live_server.url + "/f/seattle-rally")
    expect(page).to_have_url(f"{live_server.url}{FORM}?source=seattle-rally")
    expect(page.get_by_role("heading", level=1)).to_have_text("Amazon employees: connect with AECJ")
    expect(page.locator("#signup-form input[name=source]")).to_have_value("seattle-rally")
    expect(page.locator("#signup-safety")).to_contain_text("not an address at amazon.com")


def organiser_logs_in_with_code(page: Page, live_server: LiveServer, campaign: Campaign) -> None:
    """An organiser with two-factor login on logs in and gives the app's code."""
    organiser = User.objects.create_user("organiser", password=PASSWORD)
    make_member(campaign, "organiser", MemberRole.ORGANISER)
    device = enrol(organiser).device

    page.goto(live_server.url + OUTREACH + "review/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill("organiser")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/verify/\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor code")
    page.get_by_label("Code").fill(next_code(device))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + OUTREACH + "review/")


def test_flyer_sign_up_is_reviewed_attributed_to_the_flyer_and_moves_the_goal(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    open_flyer(page, live_server)
    fill_sign_up(page, "quillon.testperson@example.org")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{live_server.url}{FORM}thanks/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.locator("#thanks-text")).to_contain_text("Someone from AECJ will contact you")
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.PENDING
    assert submission.flyer is not None and submission.flyer.code == "seattle-rally"

    # Nothing counts before an organiser accepts it.
    page.goto(live_server.url + DEMO)
    goal = page.get_by_role("progressbar", name="Amazon employees signed up: 0 of 100")
    expect(goal).to_have_attribute("value", "0")

    organiser_logs_in_with_code(page, live_server, demo)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-ups waiting for review")
    row = page.locator(f"#submission-{submission.pk}")
    expect(row).to_contain_text("Seattle rally flyer")
    expect(row.locator(".cell-email")).to_have_text("quillon.testperson@example.org")
    expect(row.locator(".badge.work")).to_have_count(0)
    row.get_by_role("button", name="Accept").click()
    expect(page.locator("ul.messages")).to_contain_text("Accepted 1 sign-up.")
    expect(page.locator("#review-empty")).to_have_text("No sign-ups are waiting.")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED

    page.goto(live_server.url + OUTREACH + "attribution/")
    expect(page.locator("#attribution-total")).to_have_text("1 accepted sign-up")
    flyer = page.locator("#attribution-flyer-seattle-rally")
    expect(flyer.locator("td").first).to_have_text("Seattle rally flyer")
    expect(flyer.locator(".signups")).to_have_text("1")
    action = page.locator("#attribution-actions tbody tr", has_text=SEATTLE_RALLY)
    expect(action).to_have_count(1)
    expect(action.locator(".signups")).to_have_text("1")

    page.goto(live_server.url + DEMO)
    goal = page.get_by_role("progressbar", name="Amazon employees signed up: 1 of 100")
    expect(goal).to_be_visible()
    expect(goal).to_have_attribute("max", "100")
    expect(goal).to_have_attribute("value", "1")
    page_guard.assert_clean()


def test_sign_up_with_a_work_address_is_warned_to_use_a_personal_one(
    page: Page, live_server: LiveServer, page_guard: PageGuard, demo: Campaign
) -> None:
    open_flyer(page, live_server)
    fill_sign_up(page, "quillon@amazon.com")
    with page.expect_response(re.compile(r"/join/amazon-employees/$")) as refused:
        page.get_by_role("button", name="Sign up").click()
    assert refused.value.status == 400

    email = page.locator("#field-email")
    expect(email).to_have_class(re.compile(r"\bhas-error\b"))
    expect(email.locator(".errorlist")).to_contain_text(WORK_WARNING)
    expect(email.locator(".errorlist")).to_contain_text("use a personal address")
    assert not Submission.objects.exists()

    # What was typed is kept; the person may switch to a personal address.
    expect(page.get_by_label("Email", exact=False)).to_have_value("quillon@amazon.com")
    expect(page.locator("#signup-form input[name=source]")).to_have_value("seattle-rally")
    page.get_by_label("Email", exact=False).fill("quillon.home@example.org")
    page.get_by_label("I agree that Amazon Employees for Climate Justice keeps").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    submission = Submission.objects.get()
    assert not submission.work_address
    assert submission.flyer is not None and submission.flyer.code == "seattle-rally"
    page_guard.assert_clean()
