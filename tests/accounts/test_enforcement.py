"""``two_factor_required``: organisers and staff must turn two-factor login on and give a code."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from receipts.campaigns.models import MemberRole
from tests.campaigns.factories import make_campaign, make_member, make_user

from .factories import enrol, make_user_with_password, next_code, password_login

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.urls")]

PROTECTED = "/protected/"
TURN_ON = "/accounts/two-factor/turn-on/"
VERIFY = "/accounts/two-factor/verify/"


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_organiser_without_a_device_is_sent_to_turn_it_on_with_a_message() -> None:
    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    client = _client_for(organiser)
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"] == f"{TURN_ON}?next=%2Fprotected%2F"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Organisers must turn on two-factor login."
    ]


def test_staff_without_a_device_is_sent_to_turn_it_on() -> None:
    client = _client_for(make_user("sam", is_staff=True))
    assert client.get(PROTECTED)["Location"].startswith(TURN_ON)


def test_organiser_in_one_campaign_and_viewer_in_another_must_turn_it_on() -> None:
    user = make_member(make_campaign(), "olu", MemberRole.VIEWER)
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    assert _client_for(user).get(PROTECTED)["Location"].startswith(TURN_ON)


@pytest.mark.parametrize("role", [MemberRole.VIEWER, MemberRole.EDITOR])
def test_viewers_and_editors_without_a_device_pass(role: str) -> None:
    user = make_member(make_campaign(), "val", role)
    response = _client_for(user).get(PROTECTED)
    assert response.status_code == 200 and response.content == b"supporter data"


def test_anonymous_user_is_sent_to_log_in() -> None:
    response = Client().get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/protected/")


def test_unverified_login_is_sent_to_the_code_page_with_next() -> None:
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = Client()
    password_login(client, organiser)
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fprotected%2F"


def test_unverified_login_is_sent_to_the_code_page_by_the_decorator_alone(settings: Any) -> None:
    # Without the site-wide middleware the decorator still holds the view back.
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("TwoFactorVerificationMiddleware")
    ]
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = Client()
    password_login(client, organiser)
    assert client.get("/campaigns/").status_code == 200
    response = client.get(PROTECTED)
    assert response["Location"] == f"{VERIFY}?next=%2Fprotected%2F"


def test_decorator_refuses_when_otp_middleware_is_missing(settings: Any) -> None:
    # No way to tell a verified login: the answer is no, never yes.
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if "TwoFactorVerificationMiddleware" not in m and "OTPMiddleware" not in m
    ]
    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = _client_for(organiser)
    assert client.get(PROTECTED)["Location"].startswith(VERIFY)


def test_verified_organiser_passes() -> None:
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    device = enrol(organiser).device
    client = Client()
    password_login(client, organiser, next_path=PROTECTED)
    followed = client.post(VERIFY, {"code": next_code(device), "next": PROTECTED})
    assert followed["Location"] == PROTECTED
    response = client.get(PROTECTED)
    assert response.status_code == 200 and response.content == b"supporter data"


def test_organiser_who_turns_it_on_from_the_redirect_comes_back_verified() -> None:
    from receipts.accounts.models import AuthenticatorApp

    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    client = _client_for(organiser)
    to_turn_on = client.get(PROTECTED)["Location"]
    client.get(to_turn_on)
    device = AuthenticatorApp.objects.get(user=organiser)
    done = client.post(TURN_ON, {"code": next_code(device), "next": PROTECTED})
    assert f'href="{PROTECTED}"' in done.content.decode()
    assert client.get(PROTECTED).status_code == 200
