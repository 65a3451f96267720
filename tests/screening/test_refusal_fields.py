"""A screening service's refusal lands on the profile form field it names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from receipts.screening.models import ScreeningProfile
from tests.screening.factories import make_world

pytestmark = pytest.mark.django_db


def test_a_slug_already_taken_is_refused_on_the_slug_field(client: Client) -> None:
    make_world()
    client.force_login(User.objects.create_user("u", password="correct horse battery"))
    profile = {"agencies": "ICE\n", "tie_kinds": ["contract"], "statuses": ["active"]}
    first = client.post("/screen/profiles/new/", {**profile, "name": "ICE", "slug": "ice-only"})
    assert first.status_code == 302, first.content.decode()
    response = client.post(
        "/screen/profiles/new/", {**profile, "name": "Other", "slug": "ice-only"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["slug"] == ["'ice-only' is already used by another profile"]
    assert form.non_field_errors() == []
    assert ScreeningProfile.objects.filter(slug="ice-only").count() == 1
