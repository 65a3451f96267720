"""A campaign service's refusal lands on the editor form field it names."""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.campaigns.models import Action, MemberRole
from tests.campaigns.factories import make_campaign, make_member
from tests.factories import make_source

pytestmark = pytest.mark.django_db


def test_an_action_before_the_campaign_start_is_refused_on_its_date_field(client: Client) -> None:
    campaign = make_campaign("Started", start_date="2026-02")
    client.force_login(make_member(campaign, "editor", MemberRole.EDITOR))
    response = client.post(
        f"/edit/campaigns/{campaign.slug}/actions/new/",
        {
            "kind": "rally",
            "title": "Too early",
            "date": "2025-12-01",
            "attendance_min": "",
            "attendance_max": "",
            "source": str(make_source().pk),
            "new_source_kind": "organiser_report",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["date"] == ["2025-12-01 is before the campaign's start (2026-02)"]
    assert form.non_field_errors() == []
    assert not Action.objects.exists()
