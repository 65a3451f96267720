"""A screening service's refusal lands on the profile form field it names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from receipts.screening.models import ScreeningProfile
from tests.screening.factories import make_world

pytestmark = pytest.mark.django_db


def test_a_company_given_as_agency_is_refused_on_the_agencies_field(client: Client) -> None:
    make_world()
    client.force_login(User.objects.create_user("u", password="correct horse battery"))
    response = client.post(
        "/screen/profiles/new/",
        {"name": "Odd", "agencies": "Amazon", "tie_kinds": ["contract"], "statuses": ["active"]},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["agencies"] == ["Amazon is a company, not an agency"]
    assert form.non_field_errors() == []
    assert not ScreeningProfile.objects.exists()
