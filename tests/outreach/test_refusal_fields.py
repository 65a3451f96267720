"""An outreach service's refusal lands on the editor form field it names."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from receipts.campaigns.models import MemberRole
from receipts.outreach.models import Flyer
from tests.campaigns.factories import make_campaign, make_member
from tests.outreach.factories import make_flyer, make_form

pytestmark = pytest.mark.django_db


def test_a_flyer_code_already_used_is_refused_on_the_code_field() -> None:
    elsewhere = make_campaign()
    make_flyer(elsewhere, make_form(elsewhere), code="rally")
    campaign = make_campaign()
    form = make_form(campaign)
    editor = Client()
    editor.force_login(make_member(campaign, "ed", MemberRole.EDITOR))
    response = editor.post(
        reverse("outreach-flyer-new", args=[campaign.slug]),
        {"label": "Gate flyer", "code": "RALLY", "form": form.pk},
    )
    assert response.status_code == 400
    page_form = response.context["form"]
    assert page_form.errors["code"] == ["'rally' is already used by another flyer"]
    assert page_form.non_field_errors() == []
    assert Flyer.objects.count() == 1
