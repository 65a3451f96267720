"""The campaign pages in a real browser, on the demo campaign: the public page and the editor.

Every test runs under the guard of ``conftest.py``: nothing may load from
another origin and nothing may break the Content-Security-Policy.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.campaigns.models import Action, Campaign, CampaignCitation, DemandStatus, MemberRole
from receipts.demo import load_demo
from receipts.evidence.models import Source, Tie, TieStatus
from tests.browser.conftest import PageGuard
from tests.campaigns.factories import make_member
from tests.factories import make_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "/campaigns/amazon-dump-ice/"
MANAGE = "/edit/campaigns/amazon-dump-ice/"
PASSWORD = "correct horse battery"
REPORT_TITLE = "Protesters Demand Amazon Cut Ties With ICE and Palantir"

AWS_DEMAND = "Stop hosting ICE and CBP on Amazon Web Services"
PALANTIR_DEMAND = "End the partnership with Palantir"
RING_DEMAND = "Ring: end the partnership with Flock Safety"
SEATTLE_RALLY = "Rally outside Amazon's headquarters in Seattle"
NYC_PROTEST = "Cyber Monday protest in New York City"
COALITION = [
    "350 Seattle",
    "Amazon Employees for Climate Justice",
    "Defend Immigrants Alliance",
    "La Resistencia",
    "No Tech for Apartheid",
    "Seattle DSA",
    "Seattle Indivisible",
    "Southend Indivisible",
    "Troublemakers",
    "Washington for All",
]


def demo_campaign() -> Campaign:
    load_demo()
    return Campaign.objects.get(slug="amazon-dump-ice")


def log_in(page: Page, live_server: LiveServer, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {username}")).to_be_visible()


def field(scope: Page | Locator, label: str) -> Locator:
    """The form field labelled ``label`` (Django ends each label with a colon)."""
    return scope.get_by_label(f"{label}:", exact=True)


def demand_row(page: Page, text: str) -> Locator:
    """The one demand on the page worded ``text``."""
    rows = page.locator("li.demand").filter(has=page.locator(".demand-text", has_text=text))
    expect(rows).to_have_count(1)
    return rows


def timeline_event(page: Page, title: str) -> Locator:
    """The one timeline entry titled ``title``."""
    events = page.locator("#timeline li.event").filter(
        has=page.locator(".event-title", has_text=title)
    )
    expect(events).to_have_count(1)
    return events


def test_demo_campaign_page_shows_demands_timeline_coalition_and_goal(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    demo_campaign()
    page.goto(live_server.url + DEMO)

    expect(page.get_by_role("heading", level=1)).to_have_text("Amazon: dump ICE")
    expect(page.locator("#demands-met")).to_have_text("1 of 3 demands met")

    demands = page.locator("#demands li.demand")
    expect(demands.locator(".demand-text")).to_have_text([AWS_DEMAND, PALANTIR_DEMAND, RING_DEMAND])
    expect(demands.locator(".demand-status")).to_have_text(["Open", "Open", "Met"])
    ring = demand_row(page, RING_DEMAND)
    expect(ring.locator(".demand-status")).to_have_attribute("data-status", "met")
    expect(ring.locator(".history > li")).to_contain_text("Open → Met")
    expect(
        ring.locator(".history li.receipt").get_by_role("link", name=REPORT_TITLE)
    ).to_be_visible()
    # The "met?" suggestion and its form are for the campaign's editors only.
    expect(page.locator(".badge.suggest")).to_have_count(0)
    expect(page.locator("form.confirm-met")).to_have_count(0)

    # Oldest first: the New York protest of 2025-12-01 comes before the year-2026 entries.
    titles = page.locator("#timeline li.event .event-title")
    expect(titles.first).to_have_text(NYC_PROTEST)
    rally = timeline_event(page, SEATTLE_RALLY)
    expect(rally.locator("time")).to_have_text("2026")
    expect(rally.locator(".action-kind")).to_have_text("Rally")
    expect(rally.locator(".facts")).to_contain_text("200–250")
    expect(rally.locator(".facts")).to_contain_text("Outside Amazon's headquarters, Seattle")
    expect(rally.locator("li.receipt").get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    nyc = timeline_event(page, NYC_PROTEST)
    expect(nyc.locator("time")).to_have_text("2025-12-01")
    expect(nyc.locator(".facts")).to_contain_text("New York City")
    win = timeline_event(page, RING_DEMAND)
    expect(win.locator(".badge.win")).to_have_text("Win")

    coalition = page.locator("#coalition")
    expect(coalition.get_by_role("heading", level=2)).to_have_text("Coalition (10 organisations)")
    expect(coalition.locator("li a")).to_have_text(COALITION)

    # No source gives the coalition a sign-up target: the goal says it is an example.
    goal = page.get_by_role("progressbar", name="Example Amazon employees signed up: 0 of 100")
    expect(goal).to_be_visible()
    expect(goal).to_have_attribute("max", "100")
    expect(goal).to_have_attribute("value", "0")
    block = page.locator("#goals .goal", has=goal)
    expect(block.locator(".percent")).to_have_text("0%")
    expect(block.locator(".goal-basis")).to_contain_text(
        "An example, not from a source: set for the demo"
    )
    # The publisher's donor drive is not a goal of the coalition's campaign.
    expect(page.locator("#goals")).not_to_contain_text("monthly donors")
    page_guard.assert_clean()


def test_demo_publisher_drive_page_shows_its_goal_with_the_report(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    demo_campaign()
    page.goto(live_server.url + "/campaigns/truthout-monthly-donors/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Truthout: 500 new monthly donors")
    goal = page.get_by_role("progressbar", name="New monthly donors: 0 of 500, in 9 days")
    expect(goal).to_have_attribute("max", "500")
    block = page.locator("#goals .goal", has=goal)
    expect(block.locator(".goal-basis")).to_contain_text("Target from a source")
    expect(block.locator("li.receipt").get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    expect(block.locator(".goal-progress-none")).to_have_text("No progress reported yet.")
    page_guard.assert_clean()


def log_letter_with_new_source(page: Page) -> None:
    """Fill the new-action form: an open letter, cited to a new source described in place."""
    field(page, "Kind").select_option(label="Letter")
    field(page, "Title").fill("Open letter to Amazon's board")
    field(page, "Date").fill("2026-03-02")
    field(page, "Place").fill("Seattle")
    field(page, "Participating organisations").fill("AECJ\nNo Tech for Apartheid")
    field(page, "Summary").fill("Workers deliver an open letter to the board.")
    field(page, "New source: title").fill("AECJ: our open letter to the board")
    field(page, "New source: kind").select_option(label="Organiser report")
    field(page, "New source: publisher").fill("Amazon Employees for Climate Justice")
    field(page, "New source: published").fill("2026-03")
    field(page, "Quote").fill("Today we delivered our letter to the board.")
    field(page, "Locator").fill("paragraph 1")


def end_aws_tie(page: Page, agency: str, source_title: str, locator: str) -> None:
    """From the manage page, end the AWS hosting tie with ``agency``, citing the source."""
    aws = demand_row(page, AWS_DEMAND)
    row = aws.locator("li.tie").filter(has_text=agency)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=re.compile(r"^tie \d+$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Amazon Web Services — hosting — {agency}"
    )
    page.get_by_role("link", name="Edit this tie").click()
    field(page, "Status").select_option(label="Ended")
    field(page, "End date").fill("2026-03")
    # The source field is a search: its exact title finds it.
    field(page, "Source").fill(source_title)
    field(page, "Locator").fill(locator)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("ul.messages")).to_contain_text("Saved")
    expect(page.locator(".facts .badge")).to_have_text("Ended")
    expect(page.locator("li.receipt").get_by_role("link", name=source_title)).to_be_visible()


def test_editor_logs_a_cited_action_and_confirms_a_demand_met(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    campaign = demo_campaign()
    # An editor of the campaign who may also record evidence (end ties, add sources).
    make_editor(username="editor", password=PASSWORD)
    make_member(campaign, "editor", MemberRole.EDITOR)

    log_in(page, live_server, "editor")
    page.goto(live_server.url + DEMO)
    page.get_by_role("navigation", name="Campaign").get_by_role(
        "link", name="Manage campaign"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage: Amazon: dump ICE")

    # Log an action, cited to a new source described in the same form.
    page.get_by_role("link", name="Log an action").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New action: Amazon: dump ICE")
    log_letter_with_new_source(page)
    page.get_by_role("button", name="Save").click()
    action = Action.objects.get(campaign=campaign, title="Open letter to Amazon's board")
    expect(page).to_have_url(f"{live_server.url}{MANAGE}#action-{action.pk}")
    expect(page.locator("ul.messages")).to_contain_text(
        "Logged the action Open letter to Amazon's board."
    )
    logged = page.locator(f"#action-{action.pk}")
    expect(logged.locator(".action-kind")).to_have_text("Letter")
    expect(
        logged.locator("li.receipt").get_by_role("link", name="AECJ: our open letter to the board")
    ).to_be_visible()
    assert [c.source.title for c in action.citations.all()] == [
        "AECJ: our open letter to the board"
    ]
    assert sorted(e.name for e in action.participants.all()) == [
        "Amazon Employees for Climate Justice",
        "No Tech for Apartheid",
    ]

    # The source reporting the end of the hosting ties, then the two ties ended with it.
    ended = "Amazon Web Services ends ICE and CBP hosting"
    page.get_by_role("link", name="New source").click()
    field(page, "Kind").select_option(label="News report")
    field(page, "Title").fill(ended)
    field(page, "Publisher").fill("Truthout")
    field(page, "Published").fill("2026-03")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("ul.messages")).to_contain_text(f"Saved source “{ended}”.")
    for agency, locator in (
        ("U.S. Immigration and Customs Enforcement", "paragraph 2: the ICE account"),
        ("U.S. Customs and Border Protection", "paragraph 3: the CBP account"),
    ):
        page.goto(live_server.url + MANAGE)
        end_aws_tie(page, agency, ended, locator)
    aws_ties = Tie.objects.filter(demands__campaign=campaign, demands__text=AWS_DEMAND)
    assert sorted(aws_ties.values_list("status", "end_date")) == [
        (TieStatus.ENDED, "2026-03"),
        (TieStatus.ENDED, "2026-03"),
    ]

    # Every linked tie has ended: the manage page suggests "met?" and confirms it in place.
    page.goto(live_server.url + MANAGE)
    aws = demand_row(page, AWS_DEMAND)
    expect(aws.locator(".badge.suggest")).to_have_text("met?")
    expect(field(aws, "Date met")).to_have_value("2026-03")
    with page.expect_response(re.compile(r"/confirm-met/$")) as confirmed:
        aws.get_by_role("button", name="Confirm met").click()
    assert confirmed.value.status == 200
    assert confirmed.value.request.headers.get("hx-request") == "true"
    aws = demand_row(page, AWS_DEMAND)
    expect(aws.locator(".demand-status")).to_have_text("Met")
    expect(aws.locator(".badge.suggest")).to_have_count(0)
    expect(aws.get_by_role("link", name="Reopen")).to_be_visible()
    expect(page.locator("#demands-met")).to_have_text("2 of 3 demands met")
    change = aws.locator(".history li[id^=status-change-]")
    expect(change).to_contain_text("2026-03: Open → Met")
    expect(change.locator("li.receipt").get_by_role("link", name=ended)).to_have_count(2)
    expect(change.locator("li.receipt .locator")).to_have_text(
        ["paragraph 2: the ICE account", "paragraph 3: the CBP account"]
    )
    expect(page).to_have_url(live_server.url + MANAGE)

    demand = campaign.demands.get(text=AWS_DEMAND)
    assert demand.status == DemandStatus.MET
    last = demand.history.get()
    assert (last.from_status, last.to_status, last.date) == ("open", "met", "2026-03")
    assert {c.source.title for c in last.citations.all()} == {ended}

    # The public page: the new tally, the win and the logged action on the timeline.
    page.get_by_role("link", name="Public page").click()
    expect(page).to_have_url(live_server.url + DEMO)
    expect(page.locator("#demands-met")).to_have_text("2 of 3 demands met")
    expect(demand_row(page, AWS_DEMAND).locator(".demand-status")).to_have_text("Met")
    letter = timeline_event(page, "Open letter to Amazon's board")
    expect(letter.locator("time")).to_have_text("2026-03-02")
    expect(letter.locator(".action-kind")).to_have_text("Letter")
    expect(letter.locator(".facts")).to_contain_text("Amazon Employees for Climate Justice")
    expect(letter.locator("li.receipt blockquote")).to_have_text(
        "Today we delivered our letter to the board."
    )
    win = timeline_event(page, AWS_DEMAND)
    expect(win.locator(".badge.win")).to_have_text("Win")
    expect(win.locator("time")).to_have_text("2026-03")
    expect(page.locator("#timeline li.event")).to_have_count(5)
    page_guard.assert_clean()


def test_action_dated_before_the_campaign_start_is_a_form_error_and_nothing_is_saved(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    campaign = demo_campaign()
    assert campaign.start_date == ""
    User.objects.create_user("organiser", password=PASSWORD)
    make_member(campaign, "organiser", MemberRole.ORGANISER)

    log_in(page, live_server, "organiser")
    page.goto(live_server.url + MANAGE)
    # The demo campaign has no start date: the organiser sets one before its first action.
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings: Amazon: dump ICE")
    expect(field(page, "Start date")).to_have_value("")
    field(page, "Start date").fill("2025-11")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(live_server.url + MANAGE)
    expect(page.locator("ul.messages")).to_contain_text("Saved the campaign's settings.")
    campaign.refresh_from_db()
    assert campaign.start_date == "2025-11"

    actions_before = Action.objects.count()
    citations_before = CampaignCitation.objects.count()
    sources_before = Source.objects.count()
    page.get_by_role("link", name="Log an action").click()
    expect(page.locator("main")).to_contain_text("The campaign started 2025-11.")
    field(page, "Kind").select_option(label="Rally")
    field(page, "Title").fill("Vigil outside an Amazon warehouse")
    field(page, "Date").fill("2025-10-31")
    field(page, "New source: title").fill("A flyer for the vigil")
    field(page, "Quote").fill("Join us for a vigil.")
    with page.expect_response(re.compile(r"/actions/new/$")) as refused:
        page.get_by_role("button", name="Save").click()
    assert refused.value.status == 400

    expect(page.get_by_role("heading", level=1)).to_have_text("New action: Amazon: dump ICE")
    date_field = page.locator(".field.has-error").filter(has=field(page, "Date"))
    expect(date_field.locator(".errorlist")).to_have_text(
        "2025-10-31 is before the campaign's start (2025-11)"
    )
    expect(page.locator(".field.has-error")).to_have_count(1)
    # What was typed is kept, so fixing the date is the only change needed.
    expect(field(page, "Title")).to_have_value("Vigil outside an Amazon warehouse")
    expect(field(page, "New source: title")).to_have_value("A flyer for the vigil")
    # Nothing saved: no action, no citation, and no stray new source.
    assert Action.objects.count() == actions_before
    assert CampaignCitation.objects.count() == citations_before
    assert Source.objects.count() == sources_before
    assert not Source.objects.filter(title="A flyer for the vigil").exists()

    page.goto(live_server.url + DEMO)
    expect(page.locator(".campaign-meta .dates")).to_have_text("since 2025-11")
    expect(
        page.locator("#timeline .event-title", has_text="Vigil outside an Amazon warehouse")
    ).to_have_count(0)
    page_guard.assert_clean()
