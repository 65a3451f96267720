"""A refused write answers 400 with one line in ``detail`` and each field's problems in ``errors``."""

from __future__ import annotations

from django.test import Client

from receipts.campaigns.models import Action, MemberRole
from tests.api.conftest import post_json
from tests.campaigns.factories import make_campaign, make_member, make_token
from tests.factories import make_entity, make_source, make_tie


def test_a_refused_tie_names_its_field_in_the_body(client: Client, writer_token: str) -> None:
    parent, child = make_entity("Parent"), make_entity("Child")
    make_tie(parent, "owns", child)
    body = {
        "subject": "child",
        "object": "parent",
        "kind": "owns",
        "status": "active",
        "citations": [{"source_id": make_source().pk}],
    }
    response = post_json(client, "/api/ties", body, writer_token)
    assert response.status_code == 400
    problem = "Child owns Parent would make a cycle in ownership or part_of ties"
    assert response.json() == {"detail": f"kind: {problem}", "errors": {"kind": [problem]}}


def test_a_refused_campaign_write_names_its_field_in_the_body(client: Client, db: None) -> None:
    campaign = make_campaign("Started", slug="started", start_date="2026-02")
    token = make_token(make_member(campaign, "editor", MemberRole.EDITOR))
    body = {
        "kind": "rally",
        "title": "Too early",
        "date": "2025-12-01",
        "citations": [{"source_id": make_source().pk}],
    }
    response = post_json(client, "/api/campaigns/started/actions", body, token)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["date"]
    assert errors["date"] == ["2025-12-01 is before the campaign's start (2026-02)"]
    assert response.json()["detail"] == f"date: {errors['date'][0]}"
    assert not Action.objects.exists()
