"""Per-campaign permissions through the pages and the API, including guessed ids and scoped tokens.

A private campaign is 404 to everyone but its members (as if it did not
exist); a member whose role is too low gets 403; a token scoped to one
campaign writes that campaign and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.test import Client

from receipts.api.models import ApiToken
from receipts.campaigns import services
from receipts.campaigns.models import Action, Campaign, Demand, DemandStatus, Goal, MemberRole
from receipts.cli import main
from receipts.evidence.models import Entity
from tests.api.conftest import bearer, patch_json, post_json
from tests.campaigns.factories import (
    cite,
    make_campaign,
    make_demand,
    make_member,
    make_token,
    make_user,
)
from tests.factories import login_verified, make_source

pytestmark = pytest.mark.django_db


@dataclass
class World:
    open: Campaign
    secret: Campaign
    other: Campaign
    users: dict[str, User | None]
    secret_demand: Demand
    other_demand: Demand
    other_action: Action
    other_goal: Goal


@pytest.fixture
def world(db: None) -> World:
    open_campaign = make_campaign("Open campaign", slug="open")
    secret = make_campaign("Secret campaign", slug="secret", visibility="private")
    other = make_campaign("Other campaign", slug="other", visibility="private")
    users: dict[str, User | None] = {
        "anonymous": None,
        "stranger": make_user("stranger"),
        "outsider": make_member(other, "outsider", MemberRole.ORGANISER),
        "viewer": make_member(secret, "viewer", MemberRole.VIEWER),
        "editor": make_member(secret, "editor", MemberRole.EDITOR),
        "organiser": make_member(secret, "organiser", MemberRole.ORGANISER),
        "staff": make_user("staff", is_staff=True),
    }
    return World(
        open=open_campaign,
        secret=secret,
        other=other,
        users=users,
        secret_demand=make_demand(secret, "Secret demand"),
        other_demand=make_demand(other, "Other demand"),
        other_action=services.record_action(
            other, kind="rally", title="Other rally", date="2026", citations=[cite()]
        ),
        other_goal=services.set_goal(other, metric="donors", target=10),
    )


def _client(world: World, who: str) -> Client:
    client = Client()
    user = world.users[who]
    if user is not None:
        client.force_login(user)
    return client


# --- pages --------------------------------------------------------------------------

READERS = ["viewer", "editor", "organiser", "staff"]
NON_MEMBERS = ["anonymous", "stranger", "outsider"]


@pytest.mark.parametrize("who", READERS + NON_MEMBERS)
@pytest.mark.parametrize("path", ["/campaigns/secret/", "/campaigns/secret/brief/"])
def test_a_private_campaign_is_visible_to_its_members_only(world: World, who: str, path: str):
    expected = 200 if who in READERS else 404
    assert _client(world, who).get(path).status_code == expected


@pytest.mark.parametrize("who", READERS + NON_MEMBERS)
def test_a_public_campaign_is_visible_to_everyone(world: World, who: str):
    assert _client(world, who).get("/campaigns/open/").status_code == 200


@pytest.mark.parametrize("who", READERS + NON_MEMBERS)
def test_a_private_campaign_looks_like_no_campaign(world: World, who: str):
    client = _client(world, who)
    missing = client.get("/campaigns/no-such-campaign/")
    assert missing.status_code == 404
    if who not in READERS:
        assert client.get("/campaigns/secret/").content == missing.content


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("stranger", 404),
        ("outsider", 404),
        ("viewer", 403),
        ("editor", 200),
        ("organiser", 200),
        ("staff", 200),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/edit/campaigns/secret/",
        "/edit/campaigns/secret/demands/new/",
        "/edit/campaigns/secret/actions/new/",
        "/edit/campaigns/secret/goals/new/",
    ],
)
def test_editor_pages_need_the_editor_role(world: World, who: str, expected: int, path: str):
    assert _client(world, who).get(path).status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"), [("viewer", 403), ("editor", 403), ("organiser", 200), ("stranger", 404)]
)
@pytest.mark.parametrize(
    "path", ["/edit/campaigns/secret/settings/", "/edit/campaigns/secret/members/"]
)
def test_settings_and_members_need_the_organiser_role(
    world: World, who: str, expected: int, path: str
):
    # The members page asks for two-factor login: each logs in as having given it.
    client = Client()
    login_verified(client, world.users[who])
    assert client.get(path).status_code == expected


def test_editor_pages_send_anonymous_users_to_log_in_whether_or_not_the_campaign_exists(
    world: World,
):
    client = Client()
    for slug in ("secret", "no-such-campaign"):
        response = client.get(f"/edit/campaigns/{slug}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_member_of_one_public_campaign_cannot_edit_another(world: World):
    client = _client(world, "outsider")
    assert client.get("/edit/campaigns/open/").status_code == 403
    response = client.post(
        "/edit/campaigns/open/demands/new/", {"text": "Sneaky", "other_ties": ""}
    )
    assert response.status_code == 403
    assert not world.open.demands.exists()


def test_a_viewer_cannot_change_anything(world: World):
    client = _client(world, "viewer")
    source = make_source()
    response = client.post(
        f"/edit/campaigns/secret/demands/{world.secret_demand.pk}/status/",
        {
            "status": "met",
            "date": "2026",
            "source": str(source.pk),
            "new_source_kind": "news_report",
        },
    )
    assert response.status_code == 403
    world.secret_demand.refresh_from_db()
    assert world.secret_demand.status == DemandStatus.OPEN


@pytest.mark.parametrize(
    "path",
    [
        "/edit/campaigns/secret/demands/{other_demand}/",
        "/edit/campaigns/secret/demands/{other_demand}/status/",
        "/edit/campaigns/secret/actions/{other_action}/",
        "/edit/campaigns/secret/goals/{other_goal}/",
        "/edit/campaigns/secret/goals/{other_goal}/progress/",
    ],
)
def test_guessed_ids_of_another_campaign_are_not_found(world: World, path: str):
    url = path.format(
        other_demand=world.other_demand.pk,
        other_action=world.other_action.pk,
        other_goal=world.other_goal.pk,
    )
    client = _client(world, "editor")
    assert client.get(url).status_code == 404
    source = make_source()
    data = {
        "status": "met",
        "date": "2026",
        "source": str(source.pk),
        "text": "Taken over",
        "new_source_kind": "news_report",
        "value": "5",
        "metric": "x",
        "target": "3",
        "kind": "rally",
        "title": "Taken",
    }
    assert client.post(url, data).status_code == 404
    world.other_demand.refresh_from_db()
    assert (world.other_demand.status, world.other_demand.text) == ("open", "Other demand")


def test_confirming_a_guessed_demand_of_another_campaign_is_not_found(world: World):
    client = _client(world, "editor")
    url = f"/edit/campaigns/secret/demands/{world.other_demand.pk}/confirm-met/"
    assert client.post(url, {"date": "2026"}).status_code == 404


# --- API reads ----------------------------------------------------------------------


def _token(world: World, who: str, campaign: Campaign | None = None) -> str | None:
    user = world.users[who]
    return None if user is None else make_token(user, campaign)


def _get(client: Client, path: str, token: str | None) -> Any:
    return client.get(path, headers=bearer(token) if token else {})


@pytest.mark.parametrize(
    ("who", "listed"),
    [
        ("anonymous", ["open"]),
        ("stranger", ["open"]),
        ("viewer", ["open", "secret"]),
        ("outsider", ["open", "other"]),
        ("staff", ["open", "other", "secret"]),
    ],
)
def test_the_api_lists_only_campaigns_the_caller_may_see(
    world: World, client: Client, who: str, listed: list[str]
):
    response = _get(client, "/api/campaigns", _token(world, who))
    assert response.status_code == 200
    assert sorted(c["slug"] for c in response.json()["items"]) == listed


@pytest.mark.parametrize("who", READERS + NON_MEMBERS)
@pytest.mark.parametrize("part", ["", "/demands", "/actions", "/coalition", "/goals"])
def test_api_reads_of_a_private_campaign_need_a_members_token(
    world: World, client: Client, who: str, part: str
):
    response = _get(client, f"/api/campaigns/secret{part}", _token(world, who))
    assert response.status_code == (200 if who in READERS else 404)


def test_api_reads_accept_a_members_session(world: World):
    assert _client(world, "viewer").get("/api/campaigns/secret").status_code == 200
    assert _client(world, "stranger").get("/api/campaigns/secret").status_code == 404


def test_api_read_with_a_bad_token_is_401(world: World, client: Client):
    assert _get(client, "/api/campaigns/open", "rcpt_not-a-token").status_code == 401


# --- API writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("stranger", 404),
        ("outsider", 404),
        ("viewer", 403),
        ("editor", 201),
        ("organiser", 201),
        ("staff", 201),
    ],
)
def test_api_writes_need_the_editor_role_in_that_campaign(
    world: World, client: Client, who: str, expected: int
):
    response = post_json(
        client, "/api/campaigns/secret/demands", {"text": "New"}, _token(world, who)
    )
    assert response.status_code == expected, response.content
    assert world.secret.demands.filter(text="New").exists() == (expected == 201)


def test_api_write_without_a_token_is_401(world: World, client: Client):
    assert post_json(client, "/api/campaigns/secret/demands", {"text": "New"}).status_code == 401
    assert post_json(client, "/api/campaigns/open/demands", {"text": "New"}).status_code == 401


def test_a_session_does_not_authorise_api_writes(world: World):
    client = _client(world, "editor")
    assert post_json(client, "/api/campaigns/secret/demands", {"text": "New"}).status_code == 401


def test_a_member_of_another_campaign_cannot_write_a_public_one(world: World, client: Client):
    response = post_json(
        client, "/api/campaigns/open/demands", {"text": "New"}, _token(world, "outsider")
    )
    assert response.status_code == 403
    assert not world.open.demands.exists()


@pytest.mark.parametrize(("who", "expected"), [("editor", 403), ("organiser", 200)])
def test_api_campaign_settings_need_the_organiser_role(
    world: World, client: Client, who: str, expected: int
):
    response = patch_json(
        client, "/api/campaigns/secret", {"visibility": "public"}, _token(world, who)
    )
    assert response.status_code == expected
    world.secret.refresh_from_db()
    assert world.secret.visibility == ("public" if expected == 200 else "private")


def test_api_guessed_ids_of_another_campaign_are_not_found(world: World, client: Client):
    token = _token(world, "editor")
    source = make_source()
    citations = [{"source_id": source.pk}]
    other = world.other_demand.pk
    calls = [
        patch_json(client, f"/api/campaigns/secret/demands/{other}", {"text": "Taken"}, token),
        post_json(
            client,
            f"/api/campaigns/secret/demands/{other}/status",
            {"status": "met", "date": "2026", "citations": citations},
            token,
        ),
        post_json(client, f"/api/campaigns/secret/demands/{other}/confirm-met", {}, token),
        patch_json(
            client,
            f"/api/campaigns/secret/actions/{world.other_action.pk}",
            {"title": "Taken"},
            token,
        ),
        patch_json(
            client, f"/api/campaigns/secret/goals/{world.other_goal.pk}", {"target": 1}, token
        ),
        post_json(
            client,
            f"/api/campaigns/secret/goals/{world.other_goal.pk}/progress",
            {"value": 5, "citation": citations[0]},
            token,
        ),
        # And the other way round: the other campaign's slug with the editor's token.
        patch_json(client, f"/api/campaigns/other/demands/{other}", {"text": "Taken"}, token),
    ]
    assert [r.status_code for r in calls] == [404] * len(calls)
    world.other_demand.refresh_from_db()
    assert (world.other_demand.text, world.other_demand.status) == ("Other demand", "open")
    world.other_goal.refresh_from_db()
    assert (world.other_goal.target, world.other_goal.value) == (10, 0)


# --- tokens scoped to a campaign ----------------------------------------------------


@pytest.fixture
def both(world: World) -> User:
    """An editor of the secret and of the other campaign."""
    user = make_member(world.secret, "both", MemberRole.EDITOR)
    services.add_campaign_member(world.other, user, MemberRole.EDITOR)
    return user


def test_a_scoped_token_writes_its_campaign_only(world: World, client: Client, both: User):
    token = make_token(both, world.secret)
    assert (
        post_json(client, "/api/campaigns/secret/demands", {"text": "Mine"}, token).status_code
        == 201
    )
    refused = post_json(client, "/api/campaigns/other/demands", {"text": "Not mine"}, token)
    assert refused.status_code == 403
    assert "scoped" in refused.json()["detail"]
    assert not world.other.demands.filter(text="Not mine").exists()
    unscoped = make_token(both)
    assert (
        post_json(client, "/api/campaigns/other/demands", {"text": "Fine"}, unscoped).status_code
        == 201
    )


def test_a_scoped_token_reads_no_other_private_campaign(world: World, client: Client, both: User):
    token = make_token(both, world.secret)
    assert _get(client, "/api/campaigns/secret", token).status_code == 200
    assert _get(client, "/api/campaigns/other", token).status_code == 404
    assert _get(client, "/api/campaigns/open", token).status_code == 200
    listed = _get(client, "/api/campaigns", token).json()["items"]
    assert sorted(c["slug"] for c in listed) == ["open", "secret"]


def test_a_scoped_token_writes_no_evidence_and_creates_no_campaign(world: World, client: Client):
    user = make_member(world.secret, "superuser", MemberRole.ORGANISER)
    user.is_superuser = True
    user.save()
    token = make_token(user, world.secret)
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, token)
    assert response.status_code == 403
    assert "scoped" in response.json()["detail"]
    assert not Entity.objects.filter(name="Acme").exists()
    assert post_json(client, "/api/campaigns", {"name": "New"}, token).status_code == 403
    unscoped = make_token(user)
    assert post_json(client, "/api/campaigns", {"name": "New"}, unscoped).status_code == 201


def test_a_token_is_scoped_only_to_a_campaign_its_user_edits(world: World):
    with pytest.raises(ValueError, match="not an editor"):
        make_token(world.users["viewer"], world.secret)  # type: ignore[arg-type]
    assert not ApiToken.objects.exists()


def test_the_cli_issues_a_scoped_token(world: World, client: Client):
    result = CliRunner().invoke(main, ["token", "create", "editor", "--campaign", "secret"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert ApiToken.objects.get().campaign == world.secret
    assert (
        post_json(client, "/api/campaigns/secret/demands", {"text": "Via CLI"}, token).status_code
        == 201
    )
    refused = CliRunner().invoke(main, ["token", "create", "viewer", "--campaign", "secret"])
    assert refused.exit_code != 0 and "not an editor" in refused.output


# --- bad input through the API ------------------------------------------------------


@pytest.fixture
def editor_token(world: World) -> str:
    services.update_campaign(world.secret, start_date="2026-02")
    token = _token(world, "editor")
    assert token is not None
    return token


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"date": "2025-12-01"}, "date: 2025-12-01 is before the campaign's start (2026-02)"),
        ({"attendance_min": -1}, "attendance_min: attendance cannot be negative (-1)"),
        (
            {"attendance_min": 300, "attendance_max": 200},
            "attendance_max: the high end (200) is below the low end (300)",
        ),
        ({"citations": []}, "citation: an action needs a citation to the source that reports it"),
    ],
)
def test_bad_action_input_through_the_api_is_400_and_nothing_saved(
    world: World, client: Client, editor_token: str, overrides: dict[str, Any], detail: str
):
    body: dict[str, Any] = {
        "kind": "rally",
        "title": "Rally",
        "date": "2026-03",
        "attendance_min": 10,
        "attendance_max": 20,
        "citations": [{"source_id": make_source().pk}],
    }
    body.update(overrides)
    response = post_json(client, "/api/campaigns/secret/actions", body, editor_token)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert not world.secret.actions.exists()


def test_a_status_change_through_the_api_needs_a_citation(
    world: World, client: Client, editor_token: str
):
    url = f"/api/campaigns/secret/demands/{world.secret_demand.pk}/status"
    refused = post_json(client, url, {"status": "met", "date": "2026"}, editor_token)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("citation:")
    source = make_source()
    ok = post_json(
        client,
        url,
        {"status": "met", "date": "2026", "citations": [{"source_id": source.pk}]},
        editor_token,
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "met"
    assert ok.json()["history"][0]["citations"][0]["source_id"] == source.pk
