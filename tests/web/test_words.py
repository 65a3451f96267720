"""Words on the pages: plurals, articles, each message once, advice that fits the form."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from receipts.campaigns.models import MemberRole
from receipts.outreach.forms import TOO_FAST, started_token
from receipts.outreach.models import FormField
from tests.campaigns.factories import make_campaign
from tests.factories import login_verified, make_source
from tests.outreach.factories import make_form, person, signup_data

pytestmark = pytest.mark.django_db


def test_one_source_is_singular(client: Client) -> None:
    make_source()
    body = client.get("/").content.decode()
    assert "1 source</a>" in body
    assert "0 entities" in body


def test_role_message_reads_naturally(client: Client) -> None:
    campaign = make_campaign()
    staff = User.objects.create_user("boss", password="pw-long-enough-1", is_staff=True)
    User.objects.create_user("ana", password="pw-long-enough-1")
    login_verified(client, staff)
    response = client.post(
        reverse("campaign-members", args=[campaign.slug]),
        {"username": "ana", "role": MemberRole.ORGANISER},
        follow=True,
    )
    body = response.content.decode()
    assert "ana now has the organiser role in the campaign." in body
    assert "a organiser" not in body


def test_too_fast_is_said_once(client: Client, settings: Any) -> None:
    settings.OUTREACH_MIN_FILL_SECONDS = 30
    campaign = make_campaign()
    form = make_form(campaign)
    data = signup_data(form, person(1))
    data["started"] = started_token(form)
    response = client.post(reverse("outreach-join", args=[campaign.slug, form.slug]), data)
    assert response.status_code == 400
    assert response.content.decode().count(TOO_FAST) == 1


def test_safety_advice_names_only_the_fields_the_form_asks(client: Client) -> None:
    campaign = make_campaign()
    email_only = make_form(
        campaign, fields=[FormField.NAME, FormField.EMAIL], required_fields=[FormField.EMAIL]
    )
    phone_only = make_form(
        campaign, fields=[FormField.NAME, FormField.PHONE], required_fields=[FormField.PHONE]
    )
    both = make_form(campaign)
    advice = {}
    for form in (email_only, phone_only, both):
        html = client.get(form.get_absolute_url()).content.decode()
        advice[form.pk] = html[html.index('id="signup-safety"') : html.index("</aside>")]
    assert "phone" not in advice[email_only.pk]
    assert "personal email" in advice[email_only.pk]
    assert "email" not in advice[phone_only.pk]
    assert "personal phone number" in advice[phone_only.pk]
    assert "personal email and a personal phone" in advice[both.pk]
