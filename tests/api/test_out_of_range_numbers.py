"""Numbers no column holds (ids past 2**63 - 1, zero or negative ids, counts past 2**31 - 1)
are refused in bodies with a 422 naming the field, and name nothing in paths (404):
never a 500, on SQLite and PostgreSQL alike, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from receipts.api.tokens import issue_token
from receipts.campaigns import services as campaign_services
from receipts.campaigns.models import Action, Demand, Goal, GoalUpdate, MemberRole
from receipts.evidence.models import Citation, Source, Tie
from tests.api.conftest import bearer
from tests.campaigns.factories import cite, make_campaign, make_demand, make_member, make_token
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

# Past a signed 64-bit integer, exactly past it, past an unsigned one, and not an id at all.
BAD_IDS = [99999999999999999999, 2**63, 2**64, 0, -1]
BAD_COUNTS = [2**31, 2**63, 99999999999999999999]


class World:
    def __init__(self) -> None:
        self.acme = make_entity("Acme", slug="acme")
        self.ice = make_entity("ICE", kind="agency", slug="ice")
        self.source = make_source("Report")
        self.tie = make_tie(self.acme, "hosting", self.ice, source=self.source)
        self.campaign = make_campaign("Camp A", slug="camp-a", targets=[self.acme])
        self.demand = make_demand(self.campaign)
        self.goal = campaign_services.set_goal(self.campaign, metric="Letters", target=100)
        self.action = campaign_services.record_action(
            self.campaign, kind="rally", title="Rally", date="2026", citations=[cite(self.source)]
        )
        organiser = make_member(self.campaign, "organiser", MemberRole.ORGANISER)
        self.campaign_token = make_token(organiser, self.campaign)
        make_editor("writer")
        self.evidence_token = issue_token("writer", "tests")

    def counts(self) -> tuple[int, ...]:
        return (
            Tie.objects.count(),
            Citation.objects.count(),
            Source.objects.count(),
            Demand.objects.count(),
            Action.objects.count(),
            Goal.objects.count(),
            GoalUpdate.objects.count(),
        )


@pytest.fixture
def world(db: None) -> World:
    return World()


def send(client: Client, method: str, path: str, body: Any, token: str) -> Any:
    return client.generic(
        method, path, json.dumps(body), content_type="application/json", headers=bearer(token)
    )


def _body_cases(w: World, n: int) -> list[tuple[str, str, dict[str, Any], str, list[Any]]]:
    """(method, path, body, token kind, where the error points) for id ``n`` in a body."""
    camp = "/api/campaigns/camp-a"
    return [
        ("POST", f"{camp}/demands", {"text": "x", "ties": [n]}, "campaign", ["ties", 0]),
        ("PATCH", f"{camp}/demands/{w.demand.pk}", {"ties": [n]}, "campaign", ["ties", 0]),
        (
            "POST",
            f"{camp}/demands/{w.demand.pk}/status",
            {"status": "met", "date": "2026", "citations": [{"source_id": n}]},
            "campaign",
            ["citations", 0, "source_id"],
        ),
        (
            "POST",
            f"{camp}/actions",
            {"kind": "rally", "title": "t", "date": "2026", "citations": [{"source_id": n}]},
            "campaign",
            ["citations", 0, "source_id"],
        ),
        (
            "POST",
            f"{camp}/goals/{w.goal.pk}/progress",
            {"value": 5, "citation": {"source_id": n}},
            "campaign",
            ["citation", "source_id"],
        ),
        (
            "POST",
            "/api/ties",
            {"subject": "acme", "object": "ice", "kind": "other", "citations": [{"source_id": n}]},
            "evidence",
            ["citations", 0, "source_id"],
        ),
        (
            "PATCH",
            f"/api/ties/{w.tie.pk}",
            {"status": "ended", "citation": {"source_id": n}},
            "evidence",
            ["citation", "source_id"],
        ),
        (
            "POST",
            f"/api/ties/{w.tie.pk}/citations",
            {"source_id": n},
            "evidence",
            ["source_id"],
        ),
    ]


@pytest.mark.parametrize("case", range(8))
def test_an_id_out_of_range_in_a_body_is_a_422_naming_the_field(
    client: Client, world: World, case: int
) -> None:
    before = world.counts()
    for n in BAD_IDS:
        method, path, body, token, where = _body_cases(world, n)[case]
        key = world.campaign_token if token == "campaign" else world.evidence_token
        response = send(client, method, path, body, key)
        assert response.status_code == 422, (n, response.status_code, response.content[:300])
        locations = [problem["loc"] for problem in response.json()["detail"]]
        assert ["body", "payload", *where] in locations
    assert world.counts() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "goals", {"metric": "x", "target": "N"}, "target"),
        ("PATCH", "goals/{goal}", {"target": "N"}, "target"),
        ("POST", "goals/{goal}/progress", {"value": "N", "citation": {"source_id": 1}}, "value"),
        (
            "POST",
            "actions",
            {"kind": "rally", "title": "t", "date": "2026", "attendance_min": "N"},
            "attendance_min",
        ),
        ("PATCH", "actions/{action}", {"attendance_max": "N"}, "attendance_max"),
    ],
)
def test_a_count_no_column_holds_is_a_422_naming_the_field(
    client: Client, world: World, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = world.counts()
    path = path.format(goal=world.goal.pk, action=world.action.pk)
    for n in BAD_COUNTS:
        sent = {k: (n if v == "N" else v) for k, v in body.items()}
        response = send(client, method, f"/api/campaigns/camp-a/{path}", sent, world.campaign_token)
        assert response.status_code == 422, (n, response.status_code, response.content[:300])
        assert ["body", "payload", field] in [p["loc"] for p in response.json()["detail"]]
    assert world.counts() == before
    world.goal.refresh_from_db()
    assert world.goal.target == 100


@pytest.mark.parametrize("n", BAD_IDS)
def test_an_id_out_of_range_in_a_path_names_nothing(client: Client, world: World, n: int) -> None:
    """An id no row can have answers like any unknown id: Django finds nothing without asking."""
    before = world.counts()
    reads = [f"/api/ties/{n}", f"/api/sources/{n}"]
    for path in reads:
        response = client.get(path)
        assert response.status_code == 404, (path, response.content[:300])
        assert "no" in response.json()["detail"]
    camp = "/api/campaigns/camp-a"
    writes = [
        ("PATCH", f"/api/ties/{n}", {"summary": "x"}, world.evidence_token),
        ("POST", f"/api/ties/{n}/citations", {"source_id": world.source.pk}, world.evidence_token),
        ("PATCH", f"{camp}/demands/{n}", {"text": "x"}, world.campaign_token),
        (
            "POST",
            f"{camp}/demands/{n}/status",
            {"status": "met", "date": "2026", "citations": [{"source_id": world.source.pk}]},
            world.campaign_token,
        ),
        ("POST", f"{camp}/demands/{n}/confirm-met", {}, world.campaign_token),
        ("PATCH", f"{camp}/actions/{n}", {"title": "x"}, world.campaign_token),
        ("PATCH", f"{camp}/goals/{n}", {"target": 5}, world.campaign_token),
        (
            "POST",
            f"{camp}/goals/{n}/progress",
            {"value": 5, "citation": {"source_id": world.source.pk}},
            world.campaign_token,
        ),
    ]
    for method, path, body, token in writes:
        response = send(client, method, path, body, token)
        assert response.status_code == 404, (method, path, response.content[:300])
    assert world.counts() == before


def test_a_number_out_of_range_in_a_query_is_a_422(client: Client, world: World) -> None:
    for path in ["/api/entities", "/api/sources", "/api/entities/acme/ties"]:
        for name in ["limit", "offset"]:
            for n in [2**63, 99999999999999999999, -1]:
                response = client.get(path, {name: n})
                assert response.status_code == 422, (path, name, n, response.content[:300])
                assert ["query", name] in [p["loc"] for p in response.json()["detail"]]
