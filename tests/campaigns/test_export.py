"""The campaign export: the same JSON from the command line and the API, and the demo campaign."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from django.test import Client

from receipts.campaigns.models import (
    Action,
    Campaign,
    CampaignCitation,
    CoalitionMember,
    Demand,
    DemandStatusChange,
    Goal,
)
from receipts.cli import main
from receipts.demo import load_demo

pytestmark = pytest.mark.django_db

REPORT = "Protesters Demand Amazon Cut Ties With ICE and Palantir"


def show(*args: str) -> str:
    result = CliRunner().invoke(main, ["campaign", "show", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_and_api_export_the_same_json(client: Client):
    load_demo()
    from_cli = json.loads(show("amazon-dump-ice", "--format", "json"))
    response = client.get("/api/campaigns/amazon-dump-ice")
    assert response.status_code == 200
    assert response.json() == from_cli
    assert {"demands", "actions", "coalition"} <= set(from_cli)
    assert all("status" in d for d in from_cli["demands"])


def test_demo_campaign_has_three_demands_one_met_two_actions_ten_members_an_example_goal():
    load_demo()
    data = json.loads(show("amazon-dump-ice", "--format", "json"))
    assert data["name"] == "Amazon: dump ICE"
    assert [t["slug"] for t in data["targets"]] == ["amazon"]
    assert [(d["text"], d["status"]) for d in data["demands"]] == [
        ("Stop hosting ICE and CBP on Amazon Web Services", "open"),
        ("End the partnership with Palantir", "open"),
        ("Ring: end the partnership with Flock Safety", "met"),
    ]
    assert (data["demands_met"], data["demands_total"]) == (1, 3)
    linked = [
        [f"{t['subject']['slug']} {t['kind']} {t['object']['slug']}" for t in d["ties"]]
        for d in data["demands"]
    ]
    assert linked == [
        [
            "amazon-web-services hosting us-immigration-and-customs-enforcement",
            "amazon-web-services hosting us-customs-and-border-protection",
        ],
        ["amazon partnership palantir-technologies"],
        ["ring partnership flock-safety"],
    ]
    met = data["demands"][2]
    assert [(h["from_status"], h["to_status"], h["date"]) for h in met["history"]] == [
        ("open", "met", "2026")
    ]
    assert met["history"][0]["citations"][0]["title"] == REPORT
    assert met["history"][0]["citations"][0]["url"] is None
    rally, nyc = sorted(data["actions"], key=lambda a: a["kind"] != "rally")
    assert (rally["kind"], rally["date"], rally["attendance_min"], rally["attendance_max"]) == (
        "rally",
        "2026",
        200,
        250,
    )
    assert rally["place"] == "Outside Amazon's headquarters, Seattle"
    assert "Seattle City Councilmember Alexis Mercedes Rinck" in rally["speakers"]
    assert "ice on the grass" in rally["summary"] and "QR code" in rally["summary"]
    assert len(rally["participants"]) == 10
    assert (nyc["date"], nyc["place"]) == (
        "2025-12-01",
        "Outside Amazon's corporate offices, New York City",
    )
    assert all(a["citations"][0]["title"] == REPORT for a in data["actions"])
    assert len(data["coalition"]) == 10
    assert {m["role"] for m in data["coalition"]} == {"member"}
    # The publisher's donor drive is not the coalition's; no source gives the
    # coalition a numeric goal, so its one goal is an example.
    assert [
        (g["metric"], g["target"], g["deadline"], g["value"], g["basis"]) for g in data["goals"]
    ] == [("Amazon employees signed up", 100, None, 0, "example")]


def test_loading_the_demo_twice_duplicates_no_campaign_row():
    load_demo()
    tables = (Campaign, Demand, DemandStatusChange, Action, CoalitionMember, Goal, CampaignCitation)
    counts = [m.objects.count() for m in tables]
    load_demo()
    # Two campaigns (the coalition's, the publisher's); the publisher's goal cites the report.
    assert [m.objects.count() for m in tables] == counts == [2, 3, 1, 2, 11, 2, 4]


def test_campaign_show_table_and_unknown_slug():
    load_demo()
    out = show("amazon-dump-ice")
    assert "1 of 3 demands met" in out
    assert "Ring: end the partnership with Flock Safety" in out
    assert "200–250" in out
    missing = CliRunner().invoke(main, ["campaign", "show", "nope"])
    assert missing.exit_code == 2
    assert missing.output.strip() == "Error: no campaign has the slug 'nope'"


def test_campaign_list_includes_private_campaigns():
    load_demo()
    from tests.campaigns.factories import make_campaign

    make_campaign("Quiet one", visibility="private")
    result = CliRunner().invoke(main, ["campaign", "list", "--format", "json"])
    slugs = {c["slug"] for c in json.loads(result.output)["campaigns"]}
    assert slugs == {"amazon-dump-ice", "truthout-monthly-donors", "quiet-one"}
