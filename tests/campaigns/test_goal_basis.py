"""Whose figure a goal is: the campaign's own, cited to a source, or an example no source gives.

The demo holds one of each kind that its report supports: the publisher's
donor drive is the publisher's own campaign with a cited goal, and the
coalition's sign-up target, which no source gives, is marked as an example
on the page, the brief, the JSON and the command line.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from click.testing import CliRunner
from django.db import IntegrityError, transaction
from django.test import Client

from receipts.campaigns import services
from receipts.campaigns.models import (
    Action,
    Campaign,
    CampaignCitation,
    DemandStatusChange,
    Goal,
    GoalBasis,
    GoalProgress,
    MemberRole,
)
from receipts.cli import main
from receipts.demo import load_demo
from receipts.evidence.models import Source, SourceKind
from tests.api.conftest import patch_json, post_json
from tests.campaigns.factories import cite, make_campaign, make_member, make_token
from tests.factories import make_source

pytestmark = pytest.mark.django_db

REPORT = "Protesters Demand Amazon Cut Ties With ICE and Palantir"
COALITION = "amazon-dump-ice"
PUBLISHER = "truthout-monthly-donors"


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _goal_html(html: str, goal: Goal) -> str:
    """The block of one goal on a campaign page or brief (up to the next goal or the end)."""
    start = re.search(rf'<(div|li)\b[^>]*\bid="(brief-)?goal-{goal.pk}"', html)
    assert start is not None, f"goal {goal.pk} not on the page"
    following = re.search(r'\bid="(brief-)?goal-\d+"', html[start.end() :])
    end = start.end() + following.start() if following else html.index("</article>")
    return html[start.start() : end]


# --- the demo -----------------------------------------------------------------------


def test_demo_coalition_campaign_has_no_publisher_goal(client: Client):
    load_demo()
    coalition = Campaign.objects.get(slug=COALITION)
    assert [(g.metric, g.target) for g in coalition.goals.all()] == [
        ("Amazon employees signed up", 100)
    ]
    data = client.get(f"/api/campaigns/{COALITION}").json()
    assert [g["metric"] for g in data["goals"]] == ["Amazon employees signed up"]
    for path in (f"/campaigns/{COALITION}/", f"/campaigns/{COALITION}/brief/"):
        text = _text(client.get(path).content.decode())
        assert "monthly donors" not in text.lower(), path
        assert "500" not in text, path


def test_demo_publisher_drive_is_its_own_campaign_with_the_cited_goal(client: Client):
    load_demo()
    publisher = Campaign.objects.get(slug=PUBLISHER)
    assert publisher.is_public and not publisher.targets.exists()
    assert [(m.organisation.name, m.role) for m in publisher.coalition.all()] == [
        ("Truthout", "lead")
    ]
    goal = publisher.goals.get()
    assert (goal.metric, goal.target, goal.duration_days, goal.deadline, goal.basis) == (
        "new monthly donors",
        500,
        9,
        "",
        GoalBasis.SOURCED,
    )
    [citation] = goal.citations.select_related("source")
    assert (citation.source.title, citation.source.kind, citation.source.url) == (
        REPORT,
        SourceKind.NEWS_REPORT,
        "",
    )

    data = client.get(f"/api/campaigns/{PUBLISHER}").json()
    [exported] = data["goals"]
    assert (exported["basis"], exported["target"], exported["duration_days"]) == (
        "sourced",
        500,
        9,
    )
    assert [c["title"] for c in exported["citations"]] == [REPORT]
    assert exported["citations"][0]["url"] is None

    for path in (f"/campaigns/{PUBLISHER}/", f"/campaigns/{PUBLISHER}/brief/"):
        block = _text(_goal_html(client.get(path).content.decode(), goal))
        assert "New monthly donors: 0 of 500, in 9 days" in block, path
        assert "Target from a source" in block and REPORT in block, path
        assert "no progress reported yet" in block.lower(), path


def test_demo_unsourced_goal_is_marked_an_example_on_page_brief_json_and_cli(client: Client):
    load_demo()
    goal = Goal.objects.get(campaign__slug=COALITION, progress_source=GoalProgress.SIGNUPS)
    assert goal.basis == GoalBasis.EXAMPLE
    assert not goal.citations.exists()

    page = _goal_html(client.get(f"/campaigns/{COALITION}/").content.decode(), goal)
    label = re.search(r"<label[^>]*>(.*?)</label>", page, re.S)
    assert label is not None
    # The mark sits in the progress bar's own label, so a screen reader says it too.
    assert _text(label.group(1)) == "Example Amazon employees signed up: 0 of 100"
    for path in (f"/campaigns/{COALITION}/", f"/campaigns/{COALITION}/brief/"):
        block = _text(_goal_html(client.get(path).content.decode(), goal))
        assert "An example, not from a source: set for the demo" in block, path

    data = client.get(f"/api/campaigns/{COALITION}").json()
    [exported] = data["goals"]
    assert (exported["basis"], exported["basis_label"], exported["citations"]) == (
        "example",
        "An example, not from a source",
        [],
    )
    assert exported["basis_note"].startswith("set for the demo")

    shown = CliRunner().invoke(main, ["campaign", "show", COALITION], catch_exceptions=False)
    assert "An example, not from a source" in shown.output


def test_every_figure_on_the_demo_campaign_pages_cites_a_source_or_is_an_example():
    load_demo()
    # Each kind of figure is on the demo pages, so every loop below checks something.
    assert Goal.objects.exists() and Action.objects.exists()
    assert DemandStatusChange.objects.exists()
    for goal in Goal.objects.all():
        assert goal.basis in (GoalBasis.SOURCED, GoalBasis.EXAMPLE), goal
        assert goal.citations.exists() == (goal.basis == GoalBasis.SOURCED), goal
        assert not goal.updates.exists(), goal
    for action in Action.objects.all():
        assert action.citations.exists(), action
    for change in DemandStatusChange.objects.all():
        assert change.citations.exists(), change
    assert not Campaign.objects.exclude(start_date="").exists()


def test_reloading_the_demo_takes_the_donor_drive_off_the_coalition_campaign():
    load_demo()
    coalition = Campaign.objects.get(slug=COALITION)
    # The goal as older versions of the demo stored it, on the coalition's campaign.
    services.set_goal(
        coalition,
        key="receipts-demo-goal-monthly-donors",
        metric="new monthly donors",
        target=500,
    )
    load_demo()
    assert not coalition.goals.filter(metric="new monthly donors").exists()
    assert Goal.objects.filter(metric="new monthly donors").get().campaign.slug == PUBLISHER


# --- the rules ----------------------------------------------------------------------


def test_a_goal_from_a_source_needs_a_citation():
    campaign = make_campaign()
    with pytest.raises(services.CampaignError, match="citation: a goal taken from a source"):
        services.set_goal(campaign, metric="donors", target=500, basis=GoalBasis.SOURCED)
    assert not Goal.objects.exists()
    goal = services.set_goal(
        campaign, metric="donors", target=500, basis=GoalBasis.SOURCED, citations=[cite()]
    )
    # Changing the target later keeps the citation it already has.
    services.set_goal(campaign, goal=goal, metric="donors", target=600)
    goal.refresh_from_db()
    assert (goal.target, goal.basis, goal.citations.count()) == (600, GoalBasis.SOURCED, 1)


def test_an_example_or_own_goal_cites_no_source():
    campaign = make_campaign()
    for basis in (GoalBasis.EXAMPLE, GoalBasis.OWN):
        with pytest.raises(services.CampaignError, match="citation: a goal marked"):
            services.set_goal(
                campaign, metric="donors", target=500, basis=basis, citations=[cite()]
            )
    assert not Goal.objects.exists()


def test_a_goal_that_stops_being_sourced_drops_its_citations():
    campaign = make_campaign()
    goal = services.set_goal(
        campaign, metric="donors", target=500, basis=GoalBasis.SOURCED, citations=[cite()]
    )
    services.set_goal(
        campaign,
        goal=goal,
        metric="donors",
        target=500,
        basis=GoalBasis.EXAMPLE,
        basis_note="for the training session",
    )
    goal.refresh_from_db()
    assert (goal.basis, goal.basis_note) == (GoalBasis.EXAMPLE, "for the training session")
    assert not CampaignCitation.objects.filter(goal=goal).exists()


@pytest.mark.parametrize("days", [0, -1, 40_000, "nine"])
def test_a_duration_outside_one_to_32767_days_is_refused(days: object):
    with pytest.raises(services.CampaignError, match="duration_days: "):
        services.set_goal(make_campaign(), metric="donors", target=5, duration_days=days)
    assert not Goal.objects.exists()


def test_a_campaign_citation_backs_exactly_one_thing_in_the_database():
    campaign = make_campaign()
    goal = services.set_goal(campaign, metric="donors", target=5)
    action = services.record_action(
        campaign, kind="rally", title="Rally", date="2026", citations=[cite()]
    )
    source = make_source()
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignCitation.objects.create(source=source, goal=goal, action=action)
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignCitation.objects.create(source=source)
    CampaignCitation.objects.create(source=source, goal=goal)


# --- the API and the editor ---------------------------------------------------------


def test_api_sets_a_sourced_goal_only_with_a_citation_and_an_example_without(client: Client):
    campaign = make_campaign("Donors", slug="donors")
    token = make_token(make_member(campaign, "editor", MemberRole.EDITOR))
    url = "/api/campaigns/donors/goals"
    source = make_source("Annual report")
    body = {"metric": "new monthly donors", "target": 500, "duration_days": 9}

    refused = post_json(client, url, {**body, "basis": "sourced"}, token)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("citation: a goal taken from a source")
    refused = post_json(
        client, url, {**body, "basis": "example", "citations": [{"source_id": source.pk}]}, token
    )
    assert refused.status_code == 400
    assert not Goal.objects.exists()

    created = post_json(
        client,
        url,
        {**body, "basis": "sourced", "citations": [{"source_id": source.pk, "locator": "p. 2"}]},
        token,
    )
    assert created.status_code == 201, created.content
    goal = created.json()
    assert (goal["basis"], goal["duration_days"]) == ("sourced", 9)
    assert [(c["title"], c["locator"]) for c in goal["citations"]] == [("Annual report", "p. 2")]

    changed = patch_json(
        client,
        f"{url}/{goal['id']}",
        {"basis": "example", "basis_note": "a round number", "duration_days": None},
        token,
    )
    assert changed.status_code == 200, changed.content
    assert {
        k: changed.json()[k] for k in ("basis", "basis_note", "duration_days", "citations")
    } == {
        "basis": "example",
        "basis_note": "a round number",
        "duration_days": None,
        "citations": [],
    }
    assert patch_json(client, f"{url}/{goal['id']}", {"basis": None}, token).status_code == 422


def test_editor_form_marks_a_goal_as_from_a_source_only_with_its_source(client: Client):
    campaign = make_campaign("Donors", slug="donors")
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    url = "/edit/campaigns/donors/goals/new/"
    form = {"metric": "new monthly donors", "target": "500", "duration_days": "9"}

    refused = client.post(url, {**form, "basis": "sourced"})
    assert refused.status_code == 400
    assert "a goal taken from a source needs a citation" in refused.content.decode()
    assert not Goal.objects.exists()

    # A new source described on the form is saved with the goal, in one transaction.
    saved = client.post(
        url,
        {
            **form,
            "basis": "sourced",
            "new_source_title": "Donor appeal",
            "new_source_kind": "news_report",
            "locator": "under the article",
        },
    )
    assert saved.status_code == 302
    goal = Goal.objects.get()
    assert (goal.basis, goal.duration_days) == (GoalBasis.SOURCED, 9)
    assert [c.source.title for c in goal.citations.all()] == ["Donor appeal"]

    refused = client.post(
        f"/edit/campaigns/donors/goals/{goal.pk}/",
        {
            **form,
            "basis": "example",
            "new_source_title": "Another",
            "new_source_kind": "organiser_report",
        },
    )
    assert refused.status_code == 400
    assert not Source.objects.filter(title="Another").exists()
