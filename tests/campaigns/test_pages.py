"""Campaign pages: the public page, the brief and the editor forms, through the real views."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from receipts.campaigns.models import (
    Action,
    Campaign,
    CampaignCitation,
    CoalitionMember,
    Demand,
    DemandStatus,
    DemandStatusChange,
    MemberRole,
)
from receipts.demo import load_demo
from receipts.evidence.models import Source, Tie
from receipts.evidence.services import end_tie
from tests.api.test_docs import AssetCollector
from tests.campaigns.factories import cite, make_campaign, make_demand, make_member
from tests.factories import login_verified, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

DEMO = "/campaigns/amazon-dump-ice/"


@pytest.fixture
def demo() -> Campaign:
    load_demo()
    return Campaign.objects.get(slug="amazon-dump-ice")


@pytest.fixture
def editor(demo: Campaign, client: Client) -> Client:
    client.force_login(make_member(demo, "editor", MemberRole.EDITOR))
    return client


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- the public page ----------------------------------------------------------------


def test_demo_page_shows_the_tally_demands_and_their_receipts(client: Client, demo: Campaign):
    response = client.get(DEMO)
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 of 3 demands met" in html
    assert '<h1 id="campaign-name">Amazon: dump ICE</h1>' in html
    for text in (
        "Stop hosting ICE and CBP on Amazon Web Services",
        "End the partnership with Palantir",
        "Ring: end the partnership with Flock Safety",
    ):
        assert text in html
    assert html.count('data-status="met"') == 1
    assert html.count('data-status="open"') == 2
    assert "Protesters Demand Amazon Cut Ties With ICE and Palantir" in html
    # "met?" is for editors, and this demand is met already anyway.
    assert "met?" not in html


def test_demo_page_rolls_up_the_target_ties(client: Client, demo: Campaign):
    html = client.get(DEMO).content.decode()
    target = html[html.index('id="target"') : html.index('id="timeline"')]
    assert (
        "Amazon &gt; Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement"
        in target
    )
    assert (
        "Amazon &gt; Amazon Web Services — hosting — U.S. Customs and Border Protection" in target
    )
    assert "Amazon — partnership — Palantir Technologies" in target
    assert "Amazon &gt; Ring — partnership — Flock Safety" in target
    assert "Truthout" in target


def test_demo_timeline_lists_actions_and_the_win_in_date_order(client: Client, demo: Campaign):
    html = client.get(DEMO).content.decode()
    timeline = _text(html[html.index('id="timeline"') : html.index('id="coalition"')])
    nyc = timeline.index("Cyber Monday protest in New York City")
    win = timeline.index("Win Ring: end the partnership with Flock Safety")
    rally = timeline.index("Rally outside Amazon's headquarters in Seattle")
    assert nyc < win < rally
    assert "2025-12-01" in timeline
    assert "200–250" in timeline
    assert "Seattle City Councilmember Alexis Mercedes Rinck" in timeline
    assert "Outside Amazon's headquarters, Seattle" in timeline


def test_demo_page_lists_the_coalition_and_goal_progress(client: Client, demo: Campaign):
    html = client.get(DEMO).content.decode()
    coalition = html[html.index('id="coalition"') : html.index('id="goals"')]
    assert coalition.count("<li>") == 10
    assert "Amazon Employees for Climate Justice" in coalition
    assert re.search(r'<progress id="goal-\d+-progress" max="100" value="0">', html)
    assert "Amazon employees signed up: 0 of 100" in html


def test_campaign_pages_keep_to_the_content_security_policy(client: Client, demo: Campaign):
    for path in (DEMO, f"{DEMO}brief/", "/campaigns/"):
        response = client.get(path)
        assert "script-src 'self'" in response["Content-Security-Policy"]
        collector = AssetCollector()
        collector.feed(response.content.decode())
        assert collector.inline_scripts == [], path
        assert collector.style_attributes == [], path
        assert all(not u.startswith(("http:", "https:", "//")) for u in collector.urls), path


def test_the_brief_lists_demands_ties_and_every_receipt_for_print(client: Client, demo: Campaign):
    # One more receipt on a demand's tie: the brief lists all of them.
    extra = make_source("Second report", publisher="Another paper")
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-aws-hosts-ice")
    tie.citations.create(source=extra, locator="para 9")
    # A tie of the target that no demand names is listed too.
    ring = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership").subject
    make_tie(ring, "data_sharing", make_entity("Police Department", kind="agency"))
    html = client.get(f"{DEMO}brief/").content.decode()
    text = _text(html)
    assert 'media="print"' in html and "campaigns/print.css" in html
    assert "1 of 3 demands met" in text
    assert "Second report" in text and "para 9" in text
    assert "Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement" in text
    assert "Other ties of the target Amazon > Ring — data sharing — Police Department" in text
    # Every receipt: four on the demands' ties, one on the win, two on the actions.
    assert text.count("Protesters Demand Amazon Cut Ties With ICE and Palantir") == 7
    assert "2026: Open → Met" in text


def test_campaign_list_shows_public_campaigns_with_their_tally(client: Client, demo: Campaign):
    make_campaign("Hidden", visibility="private")
    html = client.get("/campaigns/").content.decode()
    assert "Amazon: dump ICE" in html and "1 of 3 demands met" in html
    assert "Hidden" not in html


# --- met? and its confirmation ------------------------------------------------------


@pytest.fixture
def ended_demand(demo: Campaign) -> Demand:
    """The Palantir demand, with its tie ended on the strength of a statement."""
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-amazon-palantir-partnership")
    statement = make_source("Amazon statement", kind="company_statement", published="2026-04-02")
    end_tie(
        tie, citation=cite(statement, "the partnership has ended", "para 1"), end_date="2026-04"
    )
    return Demand.objects.get(campaign=demo, text="End the partnership with Palantir")


def test_met_is_suggested_to_editors_only(client: Client, ended_demand: Demand):
    assert "met?" not in client.get(DEMO).content.decode()
    client.force_login(make_member(ended_demand.campaign, "viewer", MemberRole.VIEWER))
    assert "met?" not in client.get(DEMO).content.decode()
    client.force_login(make_member(ended_demand.campaign, "editor", MemberRole.EDITOR))
    html = client.get(DEMO).content.decode()
    assert "met?" in html
    assert "Confirm met" in html
    assert 'value="2026-04"' in html  # the suggested date is the tie's end date


def test_confirming_met_in_one_step_records_the_receipt(editor: Client, ended_demand: Demand):
    url = f"/edit/campaigns/amazon-dump-ice/demands/{ended_demand.pk}/confirm-met/"
    response = editor.post(url, {"date": "2026-04", "next": DEMO})
    assert response.status_code == 302 and response["Location"] == DEMO
    ended_demand.refresh_from_db()
    assert ended_demand.status == DemandStatus.MET
    change = ended_demand.history.get()
    assert change.date == "2026-04"
    assert [(c.source.title, c.quote) for c in change.citations.all()] == [
        ("Amazon statement", "the partnership has ended")
    ]
    assert "2 of 3 demands met" in editor.get(DEMO).content.decode()


def test_confirming_met_with_htmx_answers_the_demand_block(editor: Client, ended_demand: Demand):
    url = f"/edit/campaigns/amazon-dump-ice/demands/{ended_demand.pk}/confirm-met/"
    response = editor.post(url, {"date": "2026-04"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="demand status-met" id="demand-{ended_demand.pk}"')
    assert "Amazon statement" in html
    assert "Confirm met" not in html
    assert '<p class="tally" id="demands-met" hx-swap-oob="true">2 of 3 demands met</p>' in html


def test_next_after_confirming_stays_on_this_site(editor: Client, ended_demand: Demand):
    url = f"/edit/campaigns/amazon-dump-ice/demands/{ended_demand.pk}/confirm-met/"
    response = editor.post(url, {"date": "2026-04", "next": "https://evil.example/"})
    assert response["Location"].startswith("/edit/campaigns/amazon-dump-ice/")


# --- bad input on the editor forms --------------------------------------------------


def _action_form(cited: Source | None, **overrides: str) -> dict[str, str]:
    data = {
        "kind": "rally",
        "title": "Rally at the offices",
        "date": "2026-03",
        "place": "Seattle",
        "attendance_min": "100",
        "attendance_max": "150",
        "speakers": "",
        "participants": "",
        "summary": "",
        "source": str(cited.pk) if cited else "",
        "new_source_kind": "organiser_report",
        "quote": "",
        "locator": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def started(client: Client) -> tuple[Campaign, Client]:
    campaign = make_campaign("Started", start_date="2026-02")
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    return campaign, client


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date": "2025-12-01"}, "date", "before the campaign&#x27;s start"),
        ({"attendance_min": "-3"}, "attendance_min", "cannot be negative"),
        ({"attendance_max": "-3", "attendance_min": ""}, "attendance_max", "cannot be negative"),
        ({"attendance_min": "300", "attendance_max": "200"}, "attendance_max", "below the low end"),
        ({"source": ""}, "source", "A citation is needed"),
        ({"date": "13/02/2026"}, "date", "not a date"),
    ],
)
def test_bad_action_input_is_a_form_error_and_nothing_is_saved(started, overrides, field, message):
    campaign, client = started
    source = make_source()
    response = client.post(
        f"/edit/campaigns/{campaign.slug}/actions/new/", _action_form(source, **overrides)
    )
    assert response.status_code == 400
    html = response.content.decode()
    block = html[html.index(f'for="id_{field}"') :]
    assert message in block[: block.index('<div class="field')]  # the error sits on its field
    assert not Action.objects.exists()
    assert not CampaignCitation.objects.exists()


def test_a_refused_action_leaves_no_new_source_behind(started):
    campaign, client = started
    data = _action_form(None, date="2025-01", new_source_title="Our own report")
    response = client.post(f"/edit/campaigns/{campaign.slug}/actions/new/", data)
    assert response.status_code == 400
    assert not Source.objects.filter(title="Our own report").exists()


def test_an_action_with_a_new_source_is_logged(started):
    campaign, client = started
    data = _action_form(None, new_source_title="Our own report", locator="photo 3")
    response = client.post(f"/edit/campaigns/{campaign.slug}/actions/new/", data)
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.attendance_min, action.attendance_max) == (100, 150)
    citation = action.citations.get()
    assert (citation.source.title, citation.source.kind, citation.locator) == (
        "Our own report",
        "organiser_report",
        "photo 3",
    )


def test_a_status_change_without_a_citation_is_a_form_error(started):
    campaign, client = started
    demand = make_demand(campaign)
    url = f"/edit/campaigns/{campaign.slug}/demands/{demand.pk}/status/"
    data = {
        "status": "met",
        "date": "2026-03",
        "note": "",
        "source": "",
        "new_source_kind": "news_report",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "A citation is needed" in response.content.decode()
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN
    assert not DemandStatusChange.objects.exists()
    data["source"] = str(make_source("Report").pk)
    assert client.post(url, data).status_code == 302
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MET


def test_reopening_through_the_status_form_is_logged(started):
    campaign, client = started
    demand = make_demand(campaign)
    source = make_source("Report")
    url = f"/edit/campaigns/{campaign.slug}/demands/{demand.pk}/status/"
    base = {
        "date": "2026-03",
        "note": "",
        "source": str(source.pk),
        "new_source_kind": "news_report",
    }
    client.post(url, {**base, "status": "met"})
    client.post(url, {**base, "status": "open", "date": "2026-04", "note": "Resumed"})
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN
    assert list(demand.history.values_list("to_status", "date", "note")) == [
        ("met", "2026-03", ""),
        ("open", "2026-04", "Resumed"),
    ]


def test_a_demand_linked_to_an_unrelated_tie_is_saved_and_flagged(client: Client):
    acme = make_entity("Acme")
    agency = make_entity("Agency", kind="agency")
    own = make_tie(acme, "contract", agency)
    stranger = make_tie(make_entity("Initech"), "hosting", agency)
    campaign = make_campaign("Acme out", targets=[acme])
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    response = client.post(
        f"/edit/campaigns/{campaign.slug}/demands/new/",
        {"text": "Drop the agency", "ties": [str(own.pk)], "other_ties": str(stranger.pk)},
        follow=True,
    )
    assert response.status_code == 200
    demand = Demand.objects.get()
    assert set(demand.ties.all()) == {own, stranger}
    html = response.content.decode()
    assert f"Flagged: the tie {stranger}" in html
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert page.count('class="flag"') == 1


def test_coalition_add_and_remove_with_htmx(client: Client):
    campaign = make_campaign("Coalition")
    org = make_entity("Tech Workers Union", kind="organization")
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    url = f"/edit/campaigns/{campaign.slug}/coalition/"
    response = client.post(
        url, {"organisation": "Tech Workers Union", "role": "lead"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="coalition-editor">')
    assert CoalitionMember.objects.get().role == "lead"
    company = make_entity("Acme")
    refused = client.post(
        url, {"organisation": company.slug, "role": "member"}, headers={"HX-Request": "true"}
    )
    assert "not an organisation" in refused.content.decode()
    assert CoalitionMember.objects.count() == 1
    removed = client.post(f"{url}{org.slug}/remove/", headers={"HX-Request": "true"})
    assert removed.status_code == 200
    assert not CoalitionMember.objects.exists()


def test_goal_progress_needs_a_citation(client: Client):
    campaign = make_campaign("Goals")
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    assert (
        client.post(
            f"/edit/campaigns/{campaign.slug}/goals/new/",
            {"metric": "new monthly donors", "target": "500", "deadline": ""},
        ).status_code
        == 302
    )
    goal = campaign.goals.get()
    url = f"/edit/campaigns/{campaign.slug}/goals/{goal.pk}/progress/"
    refused = client.post(
        url, {"value": "120", "note": "", "source": "", "new_source_kind": "organiser_report"}
    )
    assert refused.status_code == 400
    goal.refresh_from_db()
    assert goal.value == 0
    ok = client.post(
        url,
        {
            "value": "120",
            "note": "Donor count",
            "source": str(make_source().pk),
            "new_source_kind": "organiser_report",
        },
    )
    assert ok.status_code == 302
    goal.refresh_from_db()
    assert goal.value == 120
    assert 'value="120"' in client.get(f"/campaigns/{campaign.slug}/").content.decode()


def test_hostile_text_is_escaped(client: Client):
    campaign = make_campaign("<script>alert(1)</script>", summary="<img src=x onerror=alert(1)>")
    make_demand(campaign, "<b>bold</b>")
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html


def test_superusers_see_campaigns_in_the_admin(client: Client, demo: Campaign):
    from django.contrib.auth.models import User

    login_verified(client, User.objects.create_superuser("root", password=None))
    for path in (
        "/admin/campaigns/campaign/",
        f"/admin/campaigns/campaign/{demo.pk}/change/",
        "/admin/campaigns/campaign/add/",
        "/admin/campaigns/demand/",
        f"/admin/campaigns/demand/{demo.demands.first().pk}/change/",
        "/admin/campaigns/action/",
        "/admin/campaigns/campaigncitation/",
    ):
        assert client.get(path).status_code == 200, path


def _admin_form(campaign: Campaign, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": campaign.name,
        "summary": campaign.summary,
        "targets": [t.pk for t in campaign.targets.all()],
        "status": "active",
        "visibility": "public",
        "start_date": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "coalition-TOTAL_FORMS": str(campaign.coalition.count()),
        "coalition-INITIAL_FORMS": str(campaign.coalition.count()),
    }
    for i, m in enumerate(campaign.coalition.order_by("organisation__name")):
        data[f"coalition-{i}-id"] = str(m.pk)
        data[f"coalition-{i}-campaign"] = str(campaign.pk)
    data.update(overrides)
    return data


def test_the_admin_saves_through_the_services(client: Client, demo: Campaign):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", password=None)
    login_verified(client, root)
    url = f"/admin/campaigns/campaign/{demo.pk}/change/"
    refused = client.post(url, _admin_form(demo, start_date="2026"))
    assert refused.status_code == 200
    assert "Cyber Monday protest in New York City" in refused.content.decode()
    demo.refresh_from_db()
    assert demo.start_date == ""
    assert client.post(url, _admin_form(demo, start_date="2025")).status_code == 302
    demo.refresh_from_db()
    assert demo.start_date == "2025"
    added = client.post(
        "/admin/campaigns/campaign/add/",
        _admin_form(
            demo,
            name="Fresh",
            slug="fresh",
            **{"coalition-TOTAL_FORMS": "0", "coalition-INITIAL_FORMS": "0"},
        ),
    )
    assert added.status_code == 302
    fresh = Campaign.objects.get(slug="fresh")
    assert [t.slug for t in fresh.targets.all()] == ["amazon"]
    assert list(fresh.memberships.values_list("user__username", "role")) == [("root", "organiser")]


def test_the_editor_overview_links_every_editor_page(editor: Client, demo: Campaign):
    response = editor.get("/edit/campaigns/amazon-dump-ice/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 of 3 demands met" in html
    assert html.count("Change status") == 3 and html.count("Reopen") == 1
    for label in ("Add a demand", "Log an action", "Add a goal", "Add to the coalition"):
        assert label in html
    assert html.count("Edit action") == 2
    assert html.count('aria-label="Remove ') == 10
    assert "Settings" not in html  # organisers only
    for path in (
        "/edit/campaigns/amazon-dump-ice/demands/new/",
        f"/edit/campaigns/amazon-dump-ice/demands/{demo.demands.first().pk}/",
        f"/edit/campaigns/amazon-dump-ice/actions/{demo.actions.first().pk}/",
        f"/edit/campaigns/amazon-dump-ice/goals/{demo.goals.get().pk}/",
    ):
        assert editor.get(path).status_code == 200, path
